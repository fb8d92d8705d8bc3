"""Kaldi-compatible log mel filterbank features for the CAM++ speaker-embedding model, in numpy.

CAM++ (3D-Speaker) was trained on `torchaudio.compliance.kaldi.fbank(wav, num_mel_bins=80,
sample_frequency=16000, dither=0)` followed by subtracting the per-utterance mean of each bin.
The runtime has no torch, so this module reproduces those Kaldi defaults exactly: 25 ms frames
every 10 ms with snip_edges, DC removal, pre-emphasis 0.97, povey window, 512-point power
spectrum, 80 triangular mel bins from 20 Hz to Nyquist on Kaldi's mel scale (1127 ln(1 + f/700)),
natural log floored at float32 epsilon.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

SAMPLE_RATE = 16000
FRAME_LENGTH = 400  # 25 ms
FRAME_SHIFT = 160  # 10 ms
FFT_SIZE = 512  # frame length rounded up to a power of two
NUM_MEL_BINS = 80
LOW_FREQ = 20.0
PREEMPHASIS = 0.97
_LOG_FLOOR = float(np.finfo(np.float32).eps)
BLOCK_FRAMES = 4000  # frames (40 s) transformed at a time: about 30 MB of spectra


def _mel(freq: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log(1.0 + np.asarray(freq, dtype=np.float64) / 700.0)


@lru_cache(maxsize=1)
def _mel_banks() -> np.ndarray:
    """(FFT_SIZE // 2 + 1, NUM_MEL_BINS) triangular filters as Kaldi builds them (no VTLN)."""
    mel_low, mel_high = _mel(LOW_FREQ), _mel(SAMPLE_RATE / 2)
    delta = (mel_high - mel_low) / (NUM_MEL_BINS + 1)
    left = mel_low + delta * np.arange(NUM_MEL_BINS)[:, None]
    centre, right = left + delta, left + 2 * delta
    fft_mel = _mel(SAMPLE_RATE / FFT_SIZE * np.arange(FFT_SIZE // 2))[None, :]
    up = (fft_mel - left) / (centre - left)
    down = (right - fft_mel) / (right - centre)
    banks = np.maximum(0.0, np.minimum(up, down))
    banks = np.pad(banks, ((0, 0), (0, 1)))  # Kaldi gives the Nyquist bin no weight
    return np.ascontiguousarray(banks.T, dtype=np.float32)


@lru_cache(maxsize=1)
def _povey_window() -> np.ndarray:
    n = np.arange(FRAME_LENGTH)
    return ((0.5 - 0.5 * np.cos(2 * np.pi * n / (FRAME_LENGTH - 1))) ** 0.85).astype(np.float32)


def num_frames(num_samples: int) -> int:
    """Frames Kaldi produces with snip_edges=True (only whole frames)."""
    return 0 if num_samples < FRAME_LENGTH else 1 + (num_samples - FRAME_LENGTH) // FRAME_SHIFT


def kaldi_fbank(waveform: np.ndarray) -> np.ndarray:
    """(frames, 80) float32 log mel energies of a 16 kHz mono waveform; frame i starts at sample 160 i.

    Computed in float32 like torchaudio. The waveform's scale does not matter once `normalise`
    is applied (a gain is a constant offset in the log domain), except for near-silent frames
    that hit the log floor.
    """
    signal = np.asarray(waveform, dtype=np.float32).reshape(-1)
    count = num_frames(len(signal))
    if count == 0:
        return np.zeros((0, NUM_MEL_BINS), dtype=np.float32)
    every = np.lib.stride_tricks.sliding_window_view(signal, FRAME_LENGTH)[::FRAME_SHIFT][:count]
    features = np.empty((count, NUM_MEL_BINS), dtype=np.float32)
    for first in range(0, count, BLOCK_FRAMES):  # the spectra of a long call would not fit at once
        features[first:first + BLOCK_FRAMES] = _log_mel(every[first:first + BLOCK_FRAMES])
    return features


def _log_mel(frames: np.ndarray) -> np.ndarray:
    """Log mel energies of (n, 400) frames of samples, by the Kaldi steps the module describes."""
    count = len(frames)
    frames = frames - frames.mean(axis=1, keepdims=True)
    padded = np.zeros((count, FFT_SIZE), dtype=np.float32)
    padded[:, 1:FRAME_LENGTH] = frames[:, 1:] - np.float32(PREEMPHASIS) * frames[:, :-1]
    padded[:, 0] = frames[:, 0] * np.float32(1.0 - PREEMPHASIS)
    padded[:, :FRAME_LENGTH] *= _povey_window()
    spectrum = scipy.fft.rfft(padded, axis=1)
    power = np.square(spectrum.real) + np.square(spectrum.imag)
    energies = power @ _mel_banks()
    return np.log(np.maximum(energies, np.float32(_LOG_FLOOR)))


def normalise(features: np.ndarray) -> np.ndarray:
    """Subtract each bin's mean over the given frames, as 3D-Speaker does per utterance."""
    return (features - features.mean(axis=0, keepdims=True)).astype(np.float32)
