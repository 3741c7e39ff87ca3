"""Whisper's log-mel front end (speech.log_mel) against references computed here another
way: the filter bank band by band from the Slaney formulas, the spectra by a direct DFT,
and a tone whose level is known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dialtone.speech.log_mel import FRAMES, HOP, N_FFT, RATE, log_mel, mel_filters


def slaney_mel(hz: float) -> float:
    if hz < 1000:
        return hz * 3 / 200
    return 15 + math.log(hz / 1000) * 27 / math.log(6.4)


def slaney_hz(mel: float) -> float:
    if mel < 15:
        return mel * 200 / 3
    return 1000 * math.exp((mel - 15) * math.log(6.4) / 27)


def reference_filters(n_mels: int) -> np.ndarray:
    """Band by band: a triangle over three neighbouring edges, area 1 in Hz."""
    top = slaney_mel(RATE / 2)
    edges = [slaney_hz(top * i / (n_mels + 1)) for i in range(n_mels + 2)]
    bank = np.zeros((n_mels, N_FFT // 2 + 1))
    for band in range(n_mels):
        low, peak, high = edges[band : band + 3]
        for k in range(N_FFT // 2 + 1):
            hz = k * RATE / N_FFT
            if low < hz <= peak:
                bank[band, k] = (hz - low) / (peak - low)
            elif peak < hz < high:
                bank[band, k] = (high - hz) / (high - peak)
        bank[band] *= 2 / (high - low)
    return bank


def reference_features(audio: np.ndarray, n_mels: int = 80) -> np.ndarray:
    """The features by a DFT written out (no np.fft), frame by frame."""
    signal = np.concatenate([audio.astype(np.float64), np.zeros(HOP)])
    half = N_FFT // 2
    # Mirror without repeating the edge sample (numpy's and torch's "reflect").
    padded = np.concatenate([signal[half:0:-1], signal, signal[-2 : -half - 2 : -1]])
    n = np.arange(N_FFT)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)
    k = np.arange(N_FFT // 2 + 1)[:, None]
    cos, sin = np.cos(2 * np.pi * k * n / N_FFT), np.sin(2 * np.pi * k * n / N_FFT)
    computed = len(signal) // HOP  # whole hops of audio, and one for the silence added
    bank = reference_filters(n_mels)
    logged = np.empty((n_mels, computed))
    for i in range(computed):
        frame = padded[i * HOP : i * HOP + N_FFT] * window
        power = (cos @ frame) ** 2 + (sin @ frame) ** 2
        logged[:, i] = np.log10(np.maximum(bank @ power, 1e-10))
    logged = np.maximum(logged, logged.max() - 8)
    heard = len(audio) // HOP
    out = np.zeros((n_mels, FRAMES))
    out[:, :heard] = (logged[:, :heard] + 4) / 4
    return out


def tone(hz: float, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.mark.parametrize("n_mels", [80, 128, 10])
def test_the_filter_bank_is_slaneys(n_mels: int) -> None:
    bank = mel_filters(n_mels)
    assert bank.shape == (n_mels, N_FFT // 2 + 1)
    assert bank.dtype == np.float32
    np.testing.assert_allclose(bank, reference_filters(n_mels), rtol=1e-5, atol=1e-9)


def test_wide_bands_have_unit_area_in_hz() -> None:
    bank = mel_filters(80).astype(np.float64)
    hz_per_bin = RATE / N_FFT
    areas = bank.sum(axis=1) * hz_per_bin
    # A narrow triangle falls on 40 Hz bins unevenly; from band 55 (about 3 kHz) on,
    # each spans more than 6 bins and the sum is its area.
    assert np.all((areas > 0.9) & (areas < 1.1))
    np.testing.assert_allclose(areas[55:], 1.0, rtol=0.02)


def test_a_random_signal_matches_the_written_out_dft() -> None:
    rng = np.random.default_rng(7)
    audio = (rng.standard_normal(16000) * 0.1).astype(np.float32)
    audio[8000:] *= np.linspace(1, 0.001, 8000, dtype=np.float32)  # down towards the floor
    features = log_mel(audio)
    assert features.shape == (80, FRAMES)
    assert features.dtype == np.float32
    np.testing.assert_allclose(features, reference_features(audio), atol=2e-5)


@pytest.mark.parametrize("samples", [3200, 3201, 3359, 16000 + 80])
def test_frames_are_whole_hops_of_audio_then_zeros(samples: int) -> None:
    rng = np.random.default_rng(samples)
    audio = (rng.standard_normal(samples) * 0.2).astype(np.float32)
    features = log_mel(audio)
    heard = samples // HOP
    assert np.all(features[:, heard:] == 0)
    assert np.all(features[:, :heard] != 0)
    np.testing.assert_allclose(features, reference_features(audio), atol=2e-5)


def test_a_1khz_tone_has_its_exact_level() -> None:
    """A 0.5 sine at 1 kHz is bin 25 exactly (40 Hz bins); the periodic Hann window
    puts |X|^2 = (0.5 * 400 / 4)^2 = 2500 there and 625 in bins 24 and 26, nothing
    elsewhere."""
    features = log_mel(tone(1000, 1.0))
    bank = reference_filters(80)
    mel = bank[:, 24] * 625 + bank[:, 25] * 2500 + bank[:, 26] * 625
    logged = np.log10(np.maximum(mel, 1e-10))
    expected = (np.maximum(logged, logged.max() - 8) + 4) / 4
    for frame in (10, 50, 90):
        np.testing.assert_allclose(features[:, frame], expected, atol=1e-4)
    loudest = int(np.argmax(features[:, 50]))
    centres = [slaney_hz(slaney_mel(RATE / 2) * (b + 1) / 81) for b in range(80)]
    assert abs(centres[loudest] - 1000) == min(abs(c - 1000) for c in centres)


def test_everything_80_db_below_the_loudest_is_raised_to_it() -> None:
    audio = np.concatenate([tone(440, 0.5, 0.9), tone(440, 0.5, 1e-6)])
    heard = log_mel(audio)[:, : len(audio) // HOP]
    assert heard.min() == pytest.approx(heard.max() - 2.0, abs=1e-6)  # 8 / 4


def test_silence_is_the_floor_and_nothing_is_zero_features() -> None:
    silent = log_mel(np.zeros(1600, dtype=np.float32))
    assert np.all(silent[:, :10] == pytest.approx((-10 + 4) / 4))
    assert np.all(silent[:, 10:] == 0)
    assert np.all(log_mel(np.zeros(100, dtype=np.float32)) == 0)


def test_only_the_first_30_seconds_are_heard() -> None:
    rng = np.random.default_rng(3)
    audio = (rng.standard_normal(RATE * 31) * 0.1).astype(np.float32)
    np.testing.assert_array_equal(log_mel(audio), log_mel(audio[: RATE * 30]))
    assert np.all(log_mel(audio)[:, -1] != 0)


def test_128_bands_for_large_v3() -> None:
    assert log_mel(tone(300, 0.5), n_mels=128).shape == (128, FRAMES)
