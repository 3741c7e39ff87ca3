"""Audio files from outside (TwiML's ``<Play>``: WAV in any of its encodings, MP3, FLAC,
Ogg Vorbis) decoded to what calls play: 8 kHz 16-bit mono PCM.

miniaudio (MIT; its decoders dr_wav, dr_mp3, dr_flac and stb_vorbis are public domain)
decodes and converts channels and rate in one call, with no system library.
"""

from __future__ import annotations

import miniaudio

RATE = 8000
# A file longer than this is cut (a TwiML <Play> of an hour-long MP3 would otherwise
# hold a minute of CPU and 57 MB of PCM per call).
MAX_SECONDS = 600


def decode_to_pcm8k(data: bytes, *, max_seconds: int = MAX_SECONDS) -> bytes:
    """``data`` (a WAV, MP3, FLAC or Ogg Vorbis file) as 8 kHz 16-bit mono PCM, at most
    ``max_seconds`` long. Raises ``ValueError`` when it is none of those."""
    try:
        sound = miniaudio.decode(
            data,
            output_format=miniaudio.SampleFormat.SIGNED16,
            nchannels=1,
            sample_rate=RATE,
        )
    except miniaudio.DecodeError as exc:
        raise ValueError(f"not an audio file dialtone can play: {exc}") from None
    pcm: bytes = sound.samples.tobytes()
    return pcm[: 2 * RATE * max_seconds]
