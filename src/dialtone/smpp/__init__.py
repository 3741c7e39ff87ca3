"""Sans-I/O SMPP 3.4: PDUs as bytes in and out, one session's state machine, time passed
in as ``now``. The asyncio edge that carries a session over TCP lives elsewhere."""
