"""Media streams (Twilio's protocol), sans-I/O: the messages both ways (``messages``) and
one stream's state machine (``session``). The WebSocket and the call's audio are the
runtime's (``runtime/media_stream.py``)."""
