"""The AI receptionist (TERMS A1–A4): a voice agent that answers a number's calls.

Pure (no I/O, no clock): ``profile`` is what an operator sets per agent, ``turns`` the
dialog's contract (what was heard in, what to say and do out), ``guard`` the rules no
dialog can talk its way around (A2 disclosure, A3 emergencies, A4 advice and honesty),
``rules_brain`` the deterministic dialog manager, ``slots`` the free appointment slots
within business hours, ``conversation`` the call application that runs it all on the
call core. The runtime carries out what they ask (speech, the calendar, messages).
"""
