"""librosa pitch trackers: ``yin`` (with a YIN-aperiodicity voicing decision), ``pyin`` and ``piptrack``."""

from __future__ import annotations

import math

import numpy as np

from arvc.features.f0 import F0_METHODS
from arvc.features.f0.base import F0Method
from arvc.features.f0.postprocess import limit_range

_SILENCE_RMS = 1e-4  # frames quieter than this (about -80 dBFS) are unvoiced whatever the tracker says


def frame_length_for(options) -> int:
    """Power-of-two analysis frame holding two periods of ``f0_min`` (at least 1024 samples at 16 kHz)."""
    need = 2 * (options.sample_rate / options.f0_min + 2)
    return max(1024, 2 ** math.ceil(math.log2(need)))


EDGE_CENTS = 1.0


def drop_search_edges(f0: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Unvoice frames whose F0 lies within 1 cent of the search bounds ``lo`` / ``hi``.

    pyin and SWIPE' answer a pitch outside their search range with the bound itself (a 220 Hz tone
    searched over 250..1000 Hz reads exactly 250 Hz; a 700 Hz tone over 50..650 Hz reads 50 Hz),
    so a value on the bound is the search clamping, not a measurement. Widening the search instead
    changes SWIPE' results inside the range (measured: clean RPA 1.00 -> 0.95 with a semitone lower).
    """
    f0 = np.asarray(f0, dtype=np.float64).copy()
    edge = 2 ** (EDGE_CENTS / 1200)
    f0[(f0 > 0) & ((f0 < lo * edge) | (f0 > hi / edge))] = 0
    return f0


def _frames(audio: np.ndarray, frame_length: int, hop: int) -> np.ndarray:
    """Centred frames, zero-padded like librosa's ``center=True``: ``(N,) -> (T, frame_length)``."""
    import librosa

    x = np.pad(audio.astype(np.float64), frame_length // 2)
    return librosa.util.frame(x, frame_length=frame_length, hop_length=hop, axis=0)


def yin_aperiodicity(frames: np.ndarray, max_lag: int) -> np.ndarray:
    """YIN's cumulative-mean-normalised difference ``d'(tau)`` for ``tau = 0..max_lag``.

    Computed over the whole frame (as librosa's ``yin`` does, so the analysis stays centred):
    ``d(tau) = sum_m (x[m] - x[m + tau])**2`` over the overlap. ``frames (T, L)`` ->
    ``(T, max_lag + 1)``; ``d'(0) = 1``; silent frames give 1.
    """
    T, L = frames.shape
    n_fft = 2 ** math.ceil(math.log2(2 * L))
    spec = np.fft.rfft(frames, n_fft)
    acf = np.fft.irfft(spec.real**2 + spec.imag**2, n_fft)[:, : max_lag + 1]
    sq = frames**2
    head = np.concatenate([np.zeros((T, 1)), np.cumsum(sq, axis=1)], axis=1)[:, : max_lag + 1]
    tail = np.concatenate([np.zeros((T, 1)), np.cumsum(sq[:, ::-1], axis=1)], axis=1)[:, : max_lag + 1]
    diff = np.maximum(2 * acf[:, :1] - head - tail - 2 * acf, 0.0)
    lags = np.arange(max_lag + 1)
    cum = np.cumsum(diff[:, 1:], axis=1)
    out = np.ones_like(diff)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[:, 1:] = np.where(cum > 1e-12, diff[:, 1:] * lags[1:] / cum, 1.0)
    return out


@F0_METHODS.register("yin")
class YinF0(F0Method):
    """librosa's YIN F0; a frame is voiced when YIN's aperiodicity at the chosen period is below
    ``threshold`` (0.25) and the frame is not silent (plain YIN has no voicing decision)."""

    name = "yin"

    def __init__(self, options=None, device=None, threshold: float = 0.25):
        super().__init__(options, device)
        self.threshold = threshold

    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        import librosa

        o = self.options
        L = frame_length_for(o)
        f0 = librosa.yin(
            audio, fmin=o.f0_min, fmax=o.f0_max, sr=o.sample_rate, frame_length=L,
            hop_length=o.hop_length, center=True,
        )
        frames = _frames(audio, L, o.hop_length)[: len(f0)]
        max_lag = int(math.ceil(o.sample_rate / o.f0_min)) + 1
        lag = np.clip(np.rint(o.sample_rate / np.maximum(f0, 1e-3)).astype(int), 1, max_lag - 1)
        aperiodicity, rms = np.ones(len(f0)), np.zeros(len(f0))
        for start in range(0, len(f0), 1024):  # blocks bound the memory on long files
            block = slice(start, start + 1024)
            cmnd = yin_aperiodicity(frames[block], max_lag)
            rows, lb = np.arange(cmnd.shape[0]), lag[block]
            aperiodicity[block] = np.minimum.reduce([cmnd[rows, lb - 1], cmnd[rows, lb], cmnd[rows, lb + 1]])
            rms[block] = np.sqrt(np.mean(frames[block] ** 2, axis=1))
        voiced = (aperiodicity < self.threshold) & (rms > _SILENCE_RMS)
        return limit_range(np.where(voiced, f0, 0.0), o.f0_min, o.f0_max)


@F0_METHODS.register("pyin")
class PyinF0(F0Method):
    """librosa's probabilistic YIN with HMM voicing (accurate, slow; numba compiles on first use).

    pyin pins an out-of-range pitch to the edge of its search range; those frames are unvoiced
    (:func:`drop_search_edges`)."""

    name = "pyin"

    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        import librosa

        o = self.options
        if not np.any(audio):
            return np.zeros(n_frames, dtype=np.float32)
        f0, voiced, _ = librosa.pyin(
            audio, fmin=o.f0_min, fmax=o.f0_max, sr=o.sample_rate, frame_length=frame_length_for(o),
            hop_length=o.hop_length, center=True,
        )
        f0 = drop_search_edges(np.where(voiced, np.nan_to_num(f0), 0.0), o.f0_min, o.f0_max)
        return limit_range(f0, o.f0_min, o.f0_max)


@F0_METHODS.register("piptrack")
class PiptrackF0(F0Method):
    """Spectral peaks from ``librosa.piptrack`` turned into F0 by weighted harmonic summation.

    Per frame, the peaks within 20 dB of the strongest are kept. Candidates are each of the five
    strongest peaks divided by 1..6; a candidate ``c`` scores ``sum(m / sqrt(h))`` over the peaks
    ``f`` near a harmonic ``h * c`` (h <= 30, ``|f / c - h| < min(0.03 h, 0.1)``), which favours
    the true F0 over its sub-octaves. The winner's F0 is the magnitude-weighted mean of ``f / h`` over its matched peaks
    of the first three harmonics present. The frame is voiced when the matched peaks hold at least
    ``harmonicity`` (0.6) of the kept peak magnitude, the frame is within 50 dB of the loudest
    frame and it is not silent.
    """

    name = "piptrack"

    def __init__(self, options=None, device=None, harmonicity: float = 0.6, n_fft: int = 1024):
        super().__init__(options, device)
        self.harmonicity = harmonicity
        self.n_fft = n_fft

    def _frame_f0(self, f: np.ndarray, m: np.ndarray) -> float:
        o = self.options
        top = f[np.argsort(m)[::-1][:5]]
        cands = (top[:, None] / np.arange(1, 7)[None, :]).ravel()
        cands = cands[(cands >= o.f0_min) & (cands <= o.f0_max)]
        if len(cands) == 0:
            return 0.0
        ratio = f[None, :] / cands[:, None]  # (C, P)
        harm = np.rint(ratio)
        hit = (harm >= 1) & (harm <= 30) & (np.abs(ratio - harm) < np.minimum(0.03 * harm, 0.1))
        scores = (hit * m[None, :] / np.sqrt(np.maximum(harm, 1))).sum(axis=1)
        best = int(np.argmax(scores))
        if (hit[best] * m).sum() < self.harmonicity * m.sum():
            return 0.0
        h = harm[best]
        low = hit[best] & (h <= np.sort(h[hit[best]])[: 3].max())
        return float(np.sum(m[low] * f[low] / h[low]) / np.sum(m[low]))

    def _compute(self, audio: np.ndarray, n_frames: int) -> np.ndarray:
        import librosa

        o = self.options
        if not np.any(audio) or len(audio) < self.n_fft // 2:  # silent, or too short for one spectrum
            return np.zeros(n_frames, dtype=np.float32)
        S = np.abs(librosa.stft(audio, n_fft=self.n_fft, hop_length=o.hop_length, center=True))
        # peaks are looked for from an octave below f0_min: a fundamental just under the range must
        # still count against the candidate at its octave (else a 220 Hz tone reads 440 Hz when f0_min = 250)
        pitches, mags = librosa.piptrack(
            S=S, sr=o.sample_rate, hop_length=o.hop_length, fmin=o.f0_min / 2,
            fmax=o.sample_rate / 2, threshold=0.01,
        )
        frame_peak = mags.max(axis=0)
        loud_enough = frame_peak > frame_peak.max() * 10 ** (-50 / 20)
        rms = librosa.feature.rms(S=S, frame_length=self.n_fft)[0]
        out = np.zeros(pitches.shape[1])
        for t in np.flatnonzero(loud_enough & (rms > _SILENCE_RMS)):
            keep = mags[:, t] > frame_peak[t] * 0.1
            out[t] = self._frame_f0(pitches[keep, t], mags[keep, t])
        return limit_range(out, o.f0_min, o.f0_max)
