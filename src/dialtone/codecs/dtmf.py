"""DTMF digits as in-band tones (ITU-T Q.23 frequency pairs), for TwiML's ``<Play
digits>``: heard by whatever listens to the audio, whatever it negotiated."""

from __future__ import annotations

import math
import sys
from array import array

# Q.23: a low (row) and a high (column) frequency per key.
_ROWS = (697.0, 770.0, 852.0, 941.0)
_COLUMNS = (1209.0, 1336.0, 1477.0, 1633.0)
_KEYS = ("123A", "456B", "789C", "*0#D")
FREQUENCIES: dict[str, tuple[float, float]] = {
    key: (_ROWS[r], _COLUMNS[c]) for r, row in enumerate(_KEYS) for c, key in enumerate(row)
}
DIGITS = frozenset(FREQUENCIES) | {"w", "W"}

TONE_SECONDS = 0.1  # Q.24 asks at least 40 ms; 100 ms is what phones send
GAP_SECONDS = 0.1
WAIT_SECONDS = 0.5  # TwiML's "w"
# Each tone at about -7 dBm0 (two tones of amplitude 0.22 full scale).
_AMPLITUDE = 0.22 * 32767


def _silence(seconds: float, rate: int) -> bytes:
    return bytes(2 * int(rate * seconds))


def _tone(low: float, high: float, seconds: float, rate: int) -> bytes:
    n = int(rate * seconds)
    samples = array(
        "h",
        (
            int(
                _AMPLITUDE
                * (math.sin(2 * math.pi * low * i / rate) + math.sin(2 * math.pi * high * i / rate))
            )
            for i in range(n)
        ),
    )
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def tones(digits: str, rate: int = 8000) -> bytes:
    """16-bit little-endian PCM of ``digits`` (0-9, *, #, A-D; ``w`` waits half a
    second), each tone followed by a gap. Raises ``ValueError`` for anything else."""
    out = bytearray()
    for digit in digits:
        if digit in ("w", "W"):
            out += _silence(WAIT_SECONDS, rate)
            continue
        pair = FREQUENCIES.get(digit.upper())
        if pair is None:
            raise ValueError(f"{digit!r} is not a DTMF digit")
        out += _tone(pair[0], pair[1], TONE_SECONDS, rate)
        out += _silence(GAP_SECONDS, rate)
    return bytes(out)
