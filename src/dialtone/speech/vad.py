"""Voice activity detection for ``speech.endpoint``: WebRTC's VAD, or the energy
fallback when ``webrtcvad`` is not installed."""

from __future__ import annotations

import logging
from typing import Any

from dialtone.speech.endpoint import EnergyDetector, VoiceDetector, frame_dbfs

log = logging.getLogger(__name__)

RATE = 8000
# WebRTC's VAD judges frames of 10, 20 or 30 ms only.
FRAME_MS = (10, 20, 30)
# Quieter than this is never voice, whatever WebRTC's VAD says: after a sound it keeps
# saying "speech" for a few frames of silence (its hang-over), which made a 60 ms click
# last long enough to count as the caller starting to talk (and stop the agent).
SPEECH_FLOOR_DBFS = -55.0


class WebRtcDetector:
    """WebRTC's GMM voice detector (``webrtcvad``) at 8 kHz. ``aggressiveness`` 0 to 3:
    higher says "not speech" more readily (fewer noises taken for voice, more soft
    syllables missed). A frame of another length is judged by ``fallback``; a frame
    quieter than ``floor_dbfs`` is not voice."""

    def __init__(
        self,
        aggressiveness: int = 2,
        fallback: VoiceDetector | None = None,
        *,
        floor_dbfs: float = SPEECH_FLOOR_DBFS,
    ) -> None:
        import webrtcvad  # noqa: PLC0415

        if not 0 <= aggressiveness <= 3:
            raise ValueError("aggressiveness is 0 to 3")
        self._vad: Any = webrtcvad.Vad(aggressiveness)
        self.fallback = fallback or EnergyDetector()
        self.floor_dbfs = floor_dbfs

    def is_speech(self, frame: bytes) -> bool:
        if len(frame) // 16 not in FRAME_MS or len(frame) % 16:
            return self.fallback.is_speech(frame)
        return bool(self._vad.is_speech(frame, RATE)) and frame_dbfs(frame) > self.floor_dbfs


def detector(
    kind: str = "webrtc", *, aggressiveness: int = 2, threshold_dbfs: float = -40.0
) -> VoiceDetector:
    """The detector named ("webrtc" or "energy"); WebRTC's falls back to energy, with a
    warning, when ``webrtcvad`` cannot be imported."""
    energy = EnergyDetector(threshold_dbfs)
    if kind == "energy":
        return energy
    if kind != "webrtc":
        raise ValueError(f"unknown voice detector {kind!r}: webrtc or energy")
    try:
        return WebRtcDetector(aggressiveness, energy)
    except ImportError:
        log.warning("webrtcvad is not installed: voice is detected by energy alone")
        return energy
