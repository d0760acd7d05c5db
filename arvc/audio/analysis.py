"""What ``arvc audio-analyzer`` reports about a file: format, level, loudness (ITU-R BS.1770), F0 range and a
spectrogram / waveform / F0 picture."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from arvc.constants import F0_HOP, SR_16K


@dataclass
class AudioAnalysis:
    path: str
    sample_rate: int
    channels: int
    duration: float  # seconds
    samples: int
    subtype: str | None  # e.g. PCM_16 (None when the container does not say)
    peak_dbfs: float
    rms_dbfs: float
    loudness_lufs: float  # integrated, gated (BS.1770-4); -inf for silence
    f0_min: float  # 5th percentile of voiced frames, Hz (0 when nothing is voiced)
    f0_median: float
    f0_max: float  # 95th percentile
    voiced_fraction: float
    spectral_centroid: float  # Hz, mean over frames

    def to_dict(self) -> dict:
        return asdict(self)

    def format(self) -> str:
        lines = [
            f"file:            {self.path}",
            f"sample rate:     {self.sample_rate} Hz, {self.channels} channel(s), {self.subtype or 'unknown subtype'}",
            f"duration:        {self.duration:.2f} s ({self.samples} samples)",
            f"peak / RMS:      {self.peak_dbfs:.1f} dBFS / {self.rms_dbfs:.1f} dBFS",
            f"loudness:        {self.loudness_lufs:.1f} LUFS (integrated)",
            f"F0 range:        {self.f0_min:.0f}-{self.f0_max:.0f} Hz (median {self.f0_median:.0f} Hz, "
            f"{100 * self.voiced_fraction:.0f}% of frames voiced)",
            f"spectral centroid: {self.spectral_centroid:.0f} Hz",
        ]
        return "\n".join(lines)


def _db(x: float) -> float:
    return float(20 * np.log10(x)) if x > 0 else float("-inf")


def k_weight(x: np.ndarray, sr: int) -> np.ndarray:
    """BS.1770 K-weighting (high-shelf + high-pass biquads, coefficients derived for any rate)."""
    # stage 1: shelving filter, +4 dB above ~1.7 kHz
    f0, g, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = np.tan(np.pi * f0 / sr)
    vh = 10 ** (g / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    b = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    a = [1, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    y = lfilter(b, a, x, axis=-1)
    # stage 2: RLB high-pass at ~38 Hz
    f0, q = 38.13547087602444, 0.5003270373238773
    k = np.tan(np.pi * f0 / sr)
    a0 = 1 + k / q + k * k
    a = [1, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return lfilter([1, -2, 1], a, y, axis=-1)


def integrated_loudness(channels: np.ndarray, sr: int) -> float:
    """Gated integrated loudness in LUFS of (C, N) audio: 400 ms blocks, 75 % overlap, -70 LUFS absolute and
    -10 LU relative gates."""
    y = k_weight(np.atleast_2d(channels).astype(np.float64), sr)
    block, step = int(0.4 * sr), int(0.1 * sr)
    if y.shape[-1] < block:
        return float("-inf")
    starts = range(0, y.shape[-1] - block + 1, step)
    z = np.array([np.mean(y[:, s : s + block] ** 2, axis=-1).sum() for s in starts])
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10 * np.log10(z)
    z = z[lk > -70]
    if not len(z):
        return float("-inf")
    rel = -0.691 + 10 * np.log10(z.mean()) - 10
    z = z[-0.691 + 10 * np.log10(z) > rel]
    return float(-0.691 + 10 * np.log10(z.mean()))


def analyze(path: str | os.PathLike, f0_method: str = "pm") -> tuple[AudioAnalysis, dict[str, np.ndarray]]:
    """(the numbers, arrays for the plot: ``audio`` (N,), ``f0`` (T,) Hz at 10 ms)."""
    import soundfile as sf

    from arvc.audio.io import load_audio, resample
    from arvc.features.f0 import F0Options, get_f0_method

    p = Path(path)
    mono = load_audio(p, None, dtype=np.float64)
    try:
        info = sf.info(str(p))
        sr, channels, subtype = int(info.samplerate), int(info.channels), info.subtype
        multi = sf.read(str(p), dtype="float64", always_2d=True)[0].T
    except Exception:  # noqa: BLE001 - formats soundfile cannot read (m4a, ...) are analysed as mono
        from arvc.audio.io import audio_info

        sr, channels, subtype, multi = audio_info(p)[0], 1, None, mono[None]
    x16 = resample(mono, sr, SR_16K).astype(np.float32)
    f0 = get_f0_method(f0_method, F0Options()).compute(x16, n_frames=len(x16) // F0_HOP + 1)
    voiced = f0[f0 > 0]
    spec = np.abs(np.fft.rfft(np.lib.stride_tricks.sliding_window_view(mono, 2048)[::512] * np.hanning(2048)))
    freqs = np.fft.rfftfreq(2048, 1 / sr)
    power = spec.sum(axis=1)
    centroid = float(np.mean((spec @ freqs)[power > 0] / power[power > 0])) if (power > 0).any() else 0.0
    result = AudioAnalysis(
        path=str(p), sample_rate=sr, channels=channels, duration=len(mono) / sr, samples=len(mono), subtype=subtype,
        peak_dbfs=_db(float(np.abs(multi).max())), rms_dbfs=_db(float(np.sqrt(np.mean(multi**2)))),
        loudness_lufs=integrated_loudness(multi, sr),
        f0_min=float(np.percentile(voiced, 5)) if len(voiced) else 0.0,
        f0_median=float(np.median(voiced)) if len(voiced) else 0.0,
        f0_max=float(np.percentile(voiced, 95)) if len(voiced) else 0.0,
        voiced_fraction=float(len(voiced) / max(len(f0), 1)), spectral_centroid=centroid,
    )
    return result, {"audio": mono, "f0": f0, "sr": np.array(sr)}


def plot_analysis(result: AudioAnalysis, arrays: dict[str, np.ndarray], png: str | os.PathLike) -> Path:
    """Spectrogram with the F0 track over it, and the waveform; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from arvc.atomic import atomic_path

    x, f0, sr = arrays["audio"], arrays["f0"], int(arrays["sr"])
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(12, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    with np.errstate(divide="ignore"):  # digital silence has -inf dB
        ax1.specgram(x, NFFT=1024, Fs=sr, noverlap=768, cmap="magma", vmin=-120)
    t = np.arange(len(f0)) * 0.01
    ax1.plot(t, np.where(f0 > 0, f0, np.nan), color="cyan", lw=1.2, label="F0")
    ax1.set_ylabel("Hz")
    ax1.legend(loc="upper right")
    ax1.set_title(f"{Path(result.path).name}: {result.duration:.2f} s, {sr} Hz, {result.loudness_lufs:.1f} LUFS, "
                  f"F0 {result.f0_min:.0f}-{result.f0_max:.0f} Hz")
    ax2.plot(np.arange(len(x)) / sr, x, lw=0.4)
    ax2.set_xlabel("seconds")
    ax2.set_ylim(-1, 1)
    fig.tight_layout()
    out = Path(png)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        fig.savefig(str(tmp), format="png", dpi=100)
    plt.close(fig)
    return out
