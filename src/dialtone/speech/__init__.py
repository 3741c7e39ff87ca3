"""Offline speech: text-to-speech for prompts (TwiML ``<Say>``), speech-to-text for
``<Gather input="speech">`` and voicemail transcripts, and the end of a caller's turn.

Each engine is one Protocol with a real offline implementation and a fake:
``synthesizer.Synthesizer`` (``hibari_engine``), ``recognizer.Recognizer``
(``whisper_engine``, with ``log_mel`` and ``whisper_tokens``); ``prompt_cache`` keeps
spoken prompts as WAV files; ``endpoint``
(pure) says when the caller started and stopped speaking, with ``vad``'s detectors,
and ``listener`` runs it and the recognizer for one Gather;
``voices`` maps TwiML's voice names to ours; ``resample`` changes rates through a real
low-pass; ``transcriber`` makes a recognizer the voicemail's ``Transcriber``;
``engines`` builds it all from the settings; ``say`` makes test utterances (WAV or pcap).
For a conversation: ``sentences`` (pure) cuts a reply into pieces and ``reply`` speaks
them one at a time; the recogniser's fitted window and the endpointer's early pause
shorten the wait; ``wer`` (pure) scores what was heard.
Models come from installed packages; nothing is downloaded.
"""
