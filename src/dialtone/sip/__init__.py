"""Sans-I/O SIP (RFC 3261): bytes in, bytes out, time passed in as ``now``."""
