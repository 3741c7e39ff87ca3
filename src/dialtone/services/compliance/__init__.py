"""Rules kept over time rather than at one call: do-not-call lists and registers (V12),
fair use measured from call records (F1)."""
