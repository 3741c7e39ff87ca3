"""Whisper's front end: 16 kHz audio to the log-mel spectrogram its encoder reads (numpy).

The encoder was trained on exactly this, so every constant is Whisper's: a 400-sample
(25 ms) periodic Hann window every 160 samples (10 ms), frames centred on their sample
(the signal mirrored at both ends), power spectra through a Slaney mel filter bank
(librosa's default: linear to 1 kHz, logarithmic above, each triangle of unit area),
log10 floored at 1e-10, everything more than 8 (80 dB) below the loudest value raised to
it, then ``(x + 4) / 4`` so speech lies roughly in -1..1. The encoder reads 30 s (3000
frames) at a time: longer audio is cut, shorter audio's features are padded with zeros.

Padding the features, not the audio, is faster-whisper's way (openai-whisper pads the
audio with 30 s of silence). Measured with tiny.en on this machine: with the audio
padded, a second of silence, or of noise at -60 or -45 dBFS, is heard as "you"; with
the features padded it is heard as nothing, and speech the same.
80 mel bands for every Whisper up to large-v2, 128 for large-v3 (its model directory's
``preprocessor_config.json`` says which).
"""

from __future__ import annotations

from functools import lru_cache
from math import log

import numpy as np
import numpy.typing as npt

RATE = 16000
N_FFT = 400
HOP = 160
CHUNK_SECONDS = 30
CHUNK_SAMPLES = CHUNK_SECONDS * RATE
FRAMES = CHUNK_SAMPLES // HOP
N_MELS = 80
# Slaney's mel scale: linear (3 mels per 200 Hz) below 1 kHz, then a ratio of 6.4 per
# 27 mels.
_LINEAR_HZ_PER_MEL = 200.0 / 3
_LOG_FROM_HZ = 1000.0
_LOG_FROM_MEL = _LOG_FROM_HZ / _LINEAR_HZ_PER_MEL
_LOG_STEP = log(6.4) / 27.0
_FLOOR = 1e-10
_DYNAMIC_RANGE = 8.0  # in log10 units: 80 dB

Floats = npt.NDArray[np.float64]
Features = npt.NDArray[np.float32]


def hz_to_mel(hz: Floats) -> Floats:
    """Slaney mels of frequencies in Hz."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _LINEAR_HZ_PER_MEL
    logarithmic = _LOG_FROM_MEL + np.log(np.maximum(hz, _LOG_FROM_HZ) / _LOG_FROM_HZ) / _LOG_STEP
    result: Floats = np.where(hz < _LOG_FROM_HZ, linear, logarithmic)
    return result


def mel_to_hz(mel: Floats) -> Floats:
    """Frequencies in Hz of Slaney mels."""
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * _LINEAR_HZ_PER_MEL
    logarithmic = _LOG_FROM_HZ * np.exp(
        _LOG_STEP * (np.maximum(mel, _LOG_FROM_MEL) - _LOG_FROM_MEL)
    )
    result: Floats = np.where(mel < _LOG_FROM_MEL, linear, logarithmic)
    return result


@lru_cache(maxsize=4)
def mel_filters(n_mels: int = N_MELS, n_fft: int = N_FFT, rate: int = RATE) -> Features:
    """The ``(n_mels, n_fft // 2 + 1)`` filter bank: band ``m`` a triangle rising from
    edge ``m`` to peak at edge ``m + 1`` and falling to edge ``m + 2``, the edges evenly
    spaced in mels from 0 Hz to ``rate / 2``, scaled to unit area in Hz."""
    if n_mels < 1:
        raise ValueError("n_mels must be positive")
    bins = np.arange(n_fft // 2 + 1) * rate / n_fft
    edges = mel_to_hz(np.linspace(0.0, float(hz_to_mel(np.array(rate / 2))), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    weights = triangles * (2.0 / (upper - lower))
    filters: Features = weights.astype(np.float32)
    filters.setflags(write=False)
    return filters


@lru_cache(maxsize=1)
def _hann(size: int) -> Floats:
    # Periodic (the DFT's) Hann window, as torch.hann_window gives Whisper.
    window: Floats = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(size) / size)
    window.setflags(write=False)
    return window


def log_mel(audio: npt.NDArray[np.floating], n_mels: int = N_MELS) -> Features:
    """The ``(n_mels, 3000)`` float32 log-mel features of the first 30 s of ``audio``
    (16 kHz mono, -1..1): frame ``i`` centred on sample ``160 * i``, one frame per whole
    10 ms of audio, zeros after them."""
    samples = np.asarray(audio, dtype=np.float64).ravel()[:CHUNK_SAMPLES]
    features = np.zeros((n_mels, FRAMES), dtype=np.float32)
    heard = samples.size // HOP
    if heard == 0:
        return features
    # Whisper's STFT over the audio and one hop of silence gives heard + 2 frames; the
    # last is dropped, the one before enters only the loudest value, as in faster-whisper.
    padded = np.pad(np.concatenate([samples, np.zeros(HOP)]), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:-1]
    spectrum = np.fft.rfft(frames * _hann(N_FFT), axis=-1)
    power = spectrum.real**2 + spectrum.imag**2
    mel = mel_filters(n_mels).astype(np.float64) @ power.T
    logged = np.log10(np.maximum(mel, _FLOOR))
    logged = np.maximum(logged, logged.max() - _DYNAMIC_RANGE)
    features[:, :heard] = (logged[:, :heard] + 4.0) / 4.0
    return features
