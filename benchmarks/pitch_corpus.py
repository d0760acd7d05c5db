"""Pure functions behind ``bench_pitch.py``: a voice corpus with an exactly known F0, its degradations, the scores.

Corpus: recorded voices are analysed with WORLD (Harvest F0, CheapTrick envelope, D4C aperiodicity at
5 ms frames), their F0 contour is replaced (transposition, vibrato, glides, octave jumps, breathy
aperiodicity, low and high voices) and the voice is resynthesised, so the true F0 of every frame is the
contour we fed the vocoder while the spectral envelope is a real voice's. Clips are joined with 0.2 s of
silence into one signal per condition; frame ``i`` of the reference sits at sample ``i * HOP``.

Scored frames (``Track.voiced`` / ``Track.unvoiced``): voiced frames whose surroundings within
``EDGE_S`` are voiced too and whose low band (< 1 kHz) is mostly periodic (mean WORLD aperiodicity
below ``PERIODIC_AP``); unvoiced frames with no voiced frame within ``EDGE_S``. All else is not scored.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

SR = 16000
HOP = 160
WORLD_PERIOD_MS = 5.0  # WORLD frames; two per reference frame
EDGE_S = 0.03
PERIODIC_AP = 0.5
GAP_S = 0.2
VARIANTS = ("orig", "up12", "down12", "vibrato", "glide", "octave", "breathy", "low", "high")
# which voices feed each variant (low voices from male speakers, high ones from female, ...)
_SOURCES = {
    "up12": ("kal", "espeak_m3"), "low": ("kal", "espeak_m3"),
    "down12": ("slt", "espeak_f3"), "high": ("slt", "espeak_f3"),
}
_ALL_VOICES = ("slt", "kal", "espeak_f3", "espeak_m3")


@dataclass
class Track:
    """One test signal with its truth: ``audio (N,)`` float32 at 16 kHz; per frame ``(N // HOP,)``:
    ``f0`` Hz (0 = unvoiced), ``voiced`` / ``unvoiced`` the frames scored as such, ``ap_low`` the mean
    WORLD aperiodicity below 1 kHz (0 = fully periodic, 1 = noise)."""

    audio: np.ndarray
    f0: np.ndarray
    voiced: np.ndarray
    unvoiced: np.ndarray
    ap_low: np.ndarray | None = None


# ---------------------------------------------------------------- scores

def cents(est: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``1200 * log2(est / ref)`` where both are positive, NaN elsewhere."""
    est, ref = np.asarray(est, np.float64), np.asarray(ref, np.float64)
    ok = (est > 0) & (ref > 0)
    out = np.full(est.shape, np.nan)
    out[ok] = 1200 * np.log2(est[ok] / ref[ok])
    return out


def score(est: np.ndarray, track: Track, tol_cents: float = 50.0) -> dict[str, float]:
    """Scores of an F0 estimate ``(T,)`` (0 = unvoiced) against ``track``.

    RPA: scored voiced frames estimated voiced and within ``tol_cents``; RCA: the same modulo octaves;
    VR: scored voiced frames estimated voiced; VFA: scored unvoiced frames estimated voiced;
    GPE: of scored voiced frames estimated voiced, the share more than 20 % off.
    """
    est = np.asarray(est, np.float64)[: len(track.f0)]
    if len(est) < len(track.f0):
        est = np.concatenate([est, np.zeros(len(track.f0) - len(est))])
    v, u = track.voiced, track.unvoiced
    c = cents(est[v], track.f0[v])
    hit = np.nan_to_num(np.abs(c), nan=np.inf) <= tol_cents
    chroma = np.abs((np.nan_to_num(c, nan=600.0) + 600) % 1200 - 600)
    both = est[v] > 0
    ratio = est[v][both] / track.f0[v][both]
    return {
        "RPA": float(hit.mean()) if v.any() else float("nan"),
        "RCA": float((both & (chroma <= tol_cents)).mean()) if v.any() else float("nan"),
        "VR": float(both.mean()) if v.any() else float("nan"),
        "VFA": float((est[u] > 0).mean()) if u.any() else 0.0,
        "GPE": float((np.abs(ratio - 1) > 0.2).mean()) if both.any() else float("nan"),
    }


def scored_masks(f0: np.ndarray, periodic: np.ndarray, edge_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """``(T,)`` truth and periodicity flags -> (voiced, unvoiced) frames to score (see module docstring)."""
    voiced = f0 > 0
    k = 2 * edge_frames + 1
    pad = np.pad(voiced.astype(np.int32), edge_frames, mode="edge")
    n_voiced_near = np.convolve(pad, np.ones(k, dtype=np.int32), mode="valid")
    return voiced & (n_voiced_near == k) & periodic, (~voiced) & (n_voiced_near == 0)


def away_from_jumps(f0: np.ndarray, edge_frames: int, jump_cents: float = 100.0) -> np.ndarray:
    """``(T,)`` truth -> frames with no change of more than ``jump_cents`` between two voiced neighbours within
    ``edge_frames`` (an octave jump or a fast slide moves the pitch inside any tracker's window there)."""
    f0 = np.asarray(f0, np.float64)
    both = (f0[1:] > 0) & (f0[:-1] > 0)
    jump = np.zeros(len(f0), bool)
    jump[1:] = both & (np.abs(1200 * np.log2(np.where(both, f0[1:] / np.where(both, f0[:-1], 1.0), 1.0))) > jump_cents)
    k = 2 * edge_frames + 1
    return np.convolve(jump.astype(np.int32), np.ones(k, np.int32), mode="same") == 0


def concat(tracks: list[Track], gap_s: float = GAP_S) -> Track:
    """Join tracks with ``gap_s`` of silence (a multiple of HOP) before each and after the last."""
    gap = int(round(gap_s * SR / HOP))
    z = np.zeros(gap * HOP, np.float32)
    silent = (z, np.zeros(gap), np.zeros(gap, bool), np.ones(gap, bool), np.ones(gap))
    parts = [silent]
    for t in tracks:
        ap = t.ap_low if t.ap_low is not None else np.where(t.f0 > 0, 0.0, 1.0)
        parts += [(t.audio, t.f0, t.voiced, t.unvoiced, ap), silent]
    return Track(*(np.concatenate([p[i] for p in parts]) for i in range(5)))


# ---------------------------------------------------------------- WORLD corpus

def world_analyse(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """16 kHz float audio -> WORLD ``f0 (F,)``, ``sp (F, bins)``, ``ap (F, bins)`` at 5 ms frames.

    The F0 (Harvest + StoneMask) is cleaned before the envelope is estimated: octave errors folded back
    toward the clip's median (:func:`fold_octaves`), then :func:`smooth_contour`. An envelope estimated
    with a wrong F0 keeps the true harmonic ripple, and its resynthesis would sound at the true pitch,
    not at the contour's (measured: Harvest's sub-octave drops on espeak voices).
    """
    import pyworld

    x = np.asarray(x, np.float64)
    f0, t = pyworld.harvest(x, SR, f0_floor=60.0, f0_ceil=900.0, frame_period=WORLD_PERIOD_MS)
    f0 = smooth_contour(fold_octaves(pyworld.stonemask(x, f0, t, SR)))
    sp = pyworld.cheaptrick(x, f0, t, SR)
    ap = pyworld.d4c(x, f0, t, SR)
    return f0, sp, ap


def fold_octaves(f0: np.ndarray, limit: float = 0.7) -> np.ndarray:
    """Move voiced values more than ``limit`` octaves from the median of the voiced values by whole octaves toward it."""
    out = np.asarray(f0, np.float64).copy()
    v = out > 0
    if v.any():
        dev = np.log2(out[v] / np.median(out[v]))
        out[v] *= 2.0 ** (-np.round(dev) * (np.abs(dev) > limit))
    return out


def smooth_contour(f0: np.ndarray, min_run: int = 10, width: int = 9) -> np.ndarray:
    """A smooth version of an analysed contour ``(F,)`` on WORLD frames, so the truth is a pitch a listener
    (and a tracker) can hear: voiced runs shorter than ``min_run`` frames become unvoiced; in each run the
    log-F0 is median-filtered then Hann-smoothed over ``width`` frames (45 ms); the voicing is unchanged."""
    from scipy.ndimage import median_filter

    out = np.zeros_like(f0, dtype=np.float64)
    v = np.concatenate([[False], f0 > 0, [False]])
    starts, ends = np.flatnonzero(~v[:-1] & v[1:]), np.flatnonzero(v[:-1] & ~v[1:])
    win = np.hanning(width + 2)[1:-1]
    win /= win.sum()
    for a, b in zip(starts, ends):
        if b - a < min_run:
            continue
        lf = median_filter(np.log(f0[a:b]), size=width, mode="nearest")
        lf = np.convolve(np.pad(lf, width // 2, mode="edge"), win, mode="valid")
        out[a:b] = np.exp(lf)
    return out


def _scale_median(f0: np.ndarray, target: float) -> np.ndarray:
    v = f0 > 0
    return f0 * (target / np.median(f0[v])) if v.any() else f0


def modify(variant: str, f0: np.ndarray, ap: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A new F0 contour (and aperiodicity) for ``variant`` on WORLD frames; voicing stays the analysed one."""
    t = np.arange(len(f0)) * WORLD_PERIOD_MS / 1000
    v = f0 > 0
    if variant == "orig":
        return f0, ap
    if variant in ("up12", "down12"):
        return f0 * (2.0 if variant == "up12" else 0.5), ap
    if variant == "vibrato":
        depth, rate = rng.uniform(40, 100), rng.uniform(4.5, 6.5)
        return f0 * 2 ** (depth / 1200 * np.sin(2 * np.pi * rate * t + rng.uniform(0, 6.3))), ap
    if variant == "glide":  # triangle in log-frequency: +-span octaves around the median, period 1-2 s
        span, period = rng.uniform(0.4, 0.8), rng.uniform(1.0, 2.0)
        tri = 2 * np.abs(((t / period + rng.uniform()) % 1) - 0.5) * 2 - 1
        return np.where(v, np.median(f0[v]) * 2 ** (span * tri), 0.0), ap
    if variant == "octave":  # the contour jumps by an octave every 0.3-0.7 s
        up = np.median(f0[v]) < 250
        edges = np.cumsum(rng.uniform(0.3, 0.7, size=int(t[-1] / 0.3) + 2))
        factor = np.where(np.searchsorted(edges, t) % 2 == 1, 2.0 if up else 0.5, 1.0)
        return f0 * factor, ap
    if variant == "breathy":  # aperiodicity pulled toward 1: 0.01 -> 0.1, 0.1 -> 0.32
        return f0, np.sqrt(ap)
    if variant == "low":
        return _scale_median(f0, rng.uniform(60, 90)), ap
    if variant == "high":
        return _scale_median(f0, rng.uniform(600, 1000)), ap
    raise ValueError(f"unknown variant {variant!r}")


def resynth(f0: np.ndarray, sp: np.ndarray, ap: np.ndarray) -> Track:
    """WORLD synthesis of ``f0 (F,)``, ``sp``, ``ap`` -> a Track at 10 ms frames (peak 0.5)."""
    import pyworld

    y = pyworld.synthesize(np.ascontiguousarray(f0), np.ascontiguousarray(sp), np.ascontiguousarray(ap), SR,
                           WORLD_PERIOD_MS)
    n = min(len(f0) // 2, len(y) // HOP)
    audio = (y[: n * HOP] / max(1e-9, np.abs(y).max()) * 0.5).astype(np.float32)
    ref = f0[: 2 * n : 2]
    low = int(1000 / (SR / 2) * (ap.shape[1] - 1)) + 1
    ap_low = ap[: 2 * n : 2, :low].mean(axis=1)
    voiced, unvoiced = scored_masks(ref, ap_low < PERIODIC_AP, int(round(EDGE_S * SR / HOP)))
    return Track(audio, ref.astype(np.float64), voiced, unvoiced, ap_low)


def voice_files(roots: list[Path]) -> dict[str, list[Path]]:
    """Audio files per voice folder (the first root that has the folder wins), sorted."""
    out: dict[str, list[Path]] = {}
    for name in _ALL_VOICES:
        for root in roots:
            files = sorted(p for p in (root / name).glob("*") if p.suffix in (".flac", ".wav"))
            if files:
                out[name] = files
                break
    return out


def build_corpus(roots: list[Path], clips_per_variant: int, max_seconds: float | None, seed: int = 0,
                 variants=VARIANTS) -> tuple[Track, list[str]]:
    """The resynthesised corpus as one Track, plus a line per clip (variant, source file)."""
    from arvc.audio.io import load_audio

    files = voice_files(roots)
    if not files:
        raise FileNotFoundError(f"no voice recordings under {', '.join(map(str, roots))}")
    rng = np.random.default_rng(seed)
    tracks, lines, used = [], [], {k: 0 for k in files}
    for vi, variant in enumerate(variants):
        sources = [s for s in _SOURCES.get(variant, _ALL_VOICES) if s in files]
        for i in range(clips_per_variant):
            voice = sources[(i + vi) % len(sources)]
            path = files[voice][(7 * used[voice] + 3) % len(files[voice])]
            used[voice] += 1
            x = load_audio(path, SR, dtype=np.float64)
            if max_seconds:
                x = x[: int(max_seconds * SR)]
            f0, sp, ap = world_analyse(x)
            f0, ap = modify(variant, f0, ap, rng)
            tracks.append(resynth(f0, sp, ap))
            lines.append(f"{variant:8s} {voice}/{path.name}")
    return concat(tracks), lines


# ---------------------------------------------------------------- degradations

def _at_snr(track: Track, noise: np.ndarray, snr_db: float) -> Track:
    x = track.audio.astype(np.float64)
    power = np.mean(x[np.repeat(track.f0 > 0, HOP)[: len(x)]] ** 2)
    noise = noise * np.sqrt(power / 10 ** (snr_db / 10) / np.mean(noise**2))
    y = x + noise
    return replace(track, audio=(y / max(1.0, np.abs(y).max() / 0.99)).astype(np.float32))


def white_noise(track: Track, snr_db: float, rng: np.random.Generator) -> Track:
    """White Gaussian noise at ``snr_db`` relative to the power of the voiced frames."""
    return _at_snr(track, rng.normal(size=len(track.audio)), snr_db)


def speech_noise(track: Track, snr_db: float, rng: np.random.Generator) -> Track:
    """Stationary noise with the long-term spectrum of the track's own audio, at ``snr_db``."""
    from scipy.signal import welch

    freqs, psd = welch(track.audio.astype(np.float64), SR, nperseg=1024)
    n = len(track.audio)
    spec = np.fft.rfft(rng.normal(size=n)) * np.sqrt(np.interp(np.fft.rfftfreq(n, 1 / SR), freqs, psd))
    return _at_snr(track, np.fft.irfft(spec, n), snr_db)


def room_response(rng: np.random.Generator, rt60: float = 0.5, drr_db: float = 3.0) -> np.ndarray:
    """A synthetic room impulse response: a unit direct path, then exponentially decaying noise
    (60 dB down after ``rt60`` s) starting 5 ms later, with the given direct-to-reverberant ratio."""
    n = int(rt60 * SR)
    tail = rng.normal(size=n) * np.exp(-6.9 * np.arange(n) / n)
    tail[: int(0.005 * SR)] = 0
    tail *= np.sqrt(10 ** (-drr_db / 10) / np.sum(tail**2))
    tail[0] = 1.0
    return tail


def reverb(track: Track, rng: np.random.Generator) -> Track:
    from scipy.signal import fftconvolve

    y = fftconvolve(track.audio.astype(np.float64), room_response(rng))[: len(track.audio)]
    return replace(track, audio=(y / np.abs(y).max() * 0.5).astype(np.float32))


def telephone(track: Track) -> Track:
    """300-3400 Hz band (4th-order Butterworth, zero phase): the fundamental of most voices is gone."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, [300, 3400], btype="band", fs=SR, output="sos")
    y = sosfiltfilt(sos, track.audio.astype(np.float64))
    return replace(track, audio=(y / np.abs(y).max() * 0.5).astype(np.float32))


def mp3_roundtrip(audio: np.ndarray, bitrate: int = 32000) -> np.ndarray:
    """Encode ``audio (N,)`` float at 16 kHz to MP3 with PyAV (libmp3lame) and decode it, aligned and cut to N.

    The decoder's delay is found by cross-correlation (searched within +-4000 samples) and removed.
    """
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3") as c:
        s = c.add_stream("libmp3lame", rate=SR, layout="mono")
        s.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(np.asarray(audio, np.float32)[None], format="flt", layout="mono")
        frame.sample_rate = SR
        for p in list(s.encode(frame)) + list(s.encode(None)):
            c.mux(p)
    buf.seek(0)
    with av.open(buf) as c:
        y = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)]).astype(np.float64)
    n, lag_max = len(audio), 4000
    y = np.concatenate([np.zeros(lag_max), y, np.zeros(n + lag_max)])
    x = np.asarray(audio, np.float64)
    xc = np.fft.irfft(np.fft.rfft(y, 2 * len(y)) * np.conj(np.fft.rfft(x, 2 * len(y))))
    lag = int(np.argmax(xc[: 2 * lag_max + 1]))
    return y[lag : lag + n].astype(np.float32)


def mp3(track: Track) -> Track:
    return replace(track, audio=mp3_roundtrip(track.audio))
