"""Pitch-tracker accuracy and speed on synthetic signals with known F0.

    python benchmarks/bench_pitch.py                      # every registered method + two hybrids
    python benchmarks/bench_pitch.py -m harvest,pm,fcpe   # a selection
    python benchmarks/bench_pitch.py --snr 20,10 --threads 2
    python benchmarks/bench_pitch.py -m crepe --snr ''   # clean only (full CREPE is slow on CPU)

The test signal (about 13 s per condition) strings together, with 0.25 s gaps that alternate between
digital silence and fricative-like noise: steady notes (110 Hz vowel, 220 Hz harmonic tone, 440 Hz
vowel), glides (90->360 Hz vowel, 600->150 Hz tone), vibrato (260 Hz +-60 cents at 5.5 Hz vowel,
140 Hz +-40 cents at 6 Hz tone) and a speech-like intonation contour around 180 Hz. "Vowels" are
harmonics below 4 kHz shaped by a 3-formant envelope with a -6 dB/octave tilt; "tones" have 1/k
harmonics. Conditions: clean, then white noise at each SNR (relative to the voiced-signal power),
and with --telephone the clean signal band-passed to 300-3400 Hz.

Metrics (per method and condition; frames within 20 ms of a voicing change are not scored):
  RPA   raw pitch accuracy: reference-voiced frames estimated voiced and within 50 cents
  VR    voicing recall: reference-voiced frames estimated voiced
  VFA   voicing false alarm: reference-unvoiced frames estimated voiced
  GPE   gross pitch error: frames voiced in both with |f_est / f_ref - 1| > 20 %
  s/s   wall seconds of compute() per audio second (after one warm-up call; model loading excluded)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SR = 16000
HOP = 160
GAP = 0.25
VOWEL_A = ((700, 130), (1220, 70), (2600, 160))
VOWEL_I = ((300, 60), (2300, 100), (3000, 200))


@dataclass
class Signal:
    audio: np.ndarray  # (N,) float32
    f0: np.ndarray  # (N,) Hz per sample, 0 where unvoiced


def formant_gain(freq: np.ndarray, formants) -> np.ndarray:
    g = np.ones_like(freq)
    for fc, bw in formants:
        g *= fc**2 / np.sqrt((fc**2 - freq**2) ** 2 + (bw * freq) ** 2)
    return g


def harmonic_segment(f0: np.ndarray, formants=None) -> np.ndarray:
    """Additive synthesis following per-sample pitch ``f0 (N,)``: 1/k tone or a formant-shaped vowel."""
    phase = 2 * np.pi * np.cumsum(f0) / SR
    out = np.zeros_like(f0)
    n_harm = int(4000 / f0.min())
    for k in range(1, n_harm + 1):
        fk = k * f0
        amp = np.where(fk < 4000, 1.0 / k, 0.0)
        if formants is not None:
            amp = amp * formant_gain(fk, formants)
        out += amp * np.sin(k * phase)
    fade = np.minimum(1.0, np.minimum(np.arange(len(out)), np.arange(len(out))[::-1]) / (0.01 * SR))
    return out / np.abs(out).max() * 0.5 * fade


def build_clean(rng: np.random.Generator) -> Signal:
    def t(sec):
        return np.arange(int(sec * SR)) / SR

    smooth = sum(a * np.sin(2 * np.pi * f * t(2.0) + p) for a, f, p in ((2.0, 0.7, 0.3), (1.0, 1.9, 1.1), (0.5, 3.1, 2.0)))
    segments = [
        (np.full(SR, 110.0), VOWEL_A),
        (np.full(SR, 220.0), None),
        (np.full(SR, 440.0), VOWEL_I),
        (90.0 * 4 ** (t(1.5) / 1.5), VOWEL_A),
        (600.0 * 0.25 ** (t(1.5) / 1.5), None),
        (260.0 * 2 ** (0.6 / 12 * np.sin(2 * np.pi * 5.5 * t(1.5))), VOWEL_A),
        (140.0 * 2 ** (0.4 / 12 * np.sin(2 * np.pi * 6.0 * t(1.5))), None),
        (180.0 * 2 ** (smooth / 12), VOWEL_A),
    ]
    audio, f0 = [], []
    for i, (contour, formants) in enumerate(segments):
        gap = np.zeros(int(GAP * SR))
        if i % 2:  # fricative-like: high-passed noise at -20 dB
            noise = rng.normal(0, 1, len(gap))
            noise = np.diff(noise, prepend=0.0)
            gap = noise / np.abs(noise).max() * 0.05
        audio += [gap, harmonic_segment(contour, formants)]
        f0 += [np.zeros(len(gap)), contour]
    audio.append(np.zeros(int(GAP * SR)))
    f0.append(np.zeros(int(GAP * SR)))
    return Signal(np.concatenate(audio).astype(np.float32), np.concatenate(f0))


def add_noise(sig: Signal, snr_db: float, rng: np.random.Generator) -> Signal:
    power = np.mean(sig.audio[sig.f0 > 0].astype(np.float64) ** 2)
    noise = rng.normal(0, np.sqrt(power / 10 ** (snr_db / 10)), len(sig.audio))
    audio = sig.audio + noise
    audio = audio / max(1.0, np.abs(audio).max() / 0.99)
    return Signal(audio.astype(np.float32), sig.f0)


def telephone(sig: Signal) -> Signal:
    """300-3400 Hz band (4th-order Butterworth, zero phase): the fundamental of low voices is gone."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, [300, 3400], btype="band", fs=SR, output="sos")
    audio = sosfiltfilt(sos, sig.audio.astype(np.float64))
    return Signal((audio / np.abs(audio).max() * 0.5).astype(np.float32), sig.f0)


def reference_frames(sig: Signal, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference F0 at frame centres ``i*HOP`` and a mask of scored frames (away from voicing changes)."""
    idx = np.minimum(np.arange(n_frames) * HOP, len(sig.f0) - 1)
    ref = sig.f0[idx]
    voiced = sig.f0 > 0
    margin = int(0.02 * SR)
    change = np.flatnonzero(np.diff(voiced.astype(np.int8)) != 0)
    scored = np.ones(n_frames, dtype=bool)
    for c in change:
        scored[np.abs(idx - c) <= margin] = False
    return ref, scored


def score(est: np.ndarray, ref: np.ndarray, scored: np.ndarray) -> dict[str, float]:
    est, ref = est[scored], ref[scored]
    rv, ev = ref > 0, est > 0
    both = rv & ev
    cents = np.zeros_like(ref)
    cents[both] = 1200 * np.abs(np.log2(est[both] / ref[both]))
    return {
        "RPA": float(np.mean(both[rv] & (cents[rv] <= 50))),
        "VR": float(np.mean(ev[rv])),
        "VFA": float(np.mean(ev[~rv])) if (~rv).any() else 0.0,
        "GPE": float(np.mean(np.abs(est[both] / ref[both] - 1) > 0.2)) if both.any() else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-m", "--methods", default="all",
                   help="comma list of F0 methods (hybrid[a+b] allowed); 'all' = every registered one + two hybrids")
    p.add_argument("--snr", default="20,10,0", help="comma list of SNRs in dB for the noisy conditions ('' for none)")
    p.add_argument("--telephone", action="store_true",
                   help="add a 300-3400 Hz band-passed condition (missing fundamental below 300 Hz)")
    p.add_argument("--threads", type=int, default=2, help="torch / BLAS threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from arvc.errors import ArvcError
    from arvc.features.f0 import F0_METHODS, f0_method_names, get_f0_method

    f0_method_names()
    names = (
        F0_METHODS.names() + ["hybrid[harvest+pm+swipe]", "hybrid[crepe-tiny+fcpe+swift]"]
        if args.methods == "all"
        else [n.strip() for n in args.methods.split(",") if n.strip()]
    )
    rng = np.random.default_rng(args.seed)
    clean = build_clean(rng)
    conditions = [("clean", clean)] + [
        (f"{float(s):g}dB", add_noise(clean, float(s), np.random.default_rng([args.seed, int(float(s) * 10) + 1000])))
        for s in args.snr.split(",")
        if s.strip()
    ]
    if args.telephone:
        conditions.append(("tel", telephone(clean)))
    seconds = len(clean.audio) / SR
    print(f"signal: {seconds:.2f} s per condition, conditions: {', '.join(c for c, _ in conditions)}; "
          f"torch threads {args.threads}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(timings are pessimistic on a busy machine)")

    header = f"{'method':32s} {'cond':>6s} {'RPA':>6s} {'VR':>6s} {'VFA':>6s} {'GPE':>6s} {'s/s':>7s} {'load s':>7s}"
    print(header)
    print("-" * len(header))
    for name in names:
        t0 = time.perf_counter()
        try:
            method = get_f0_method(name, device=args.device)
        except ArvcError as e:
            print(f"{name:32s} skipped: {e}")
            continue
        load_s = time.perf_counter() - t0
        method.compute(clean.audio[:SR])  # warm-up (numba JIT, lazy init)
        for cond, sig in conditions:
            n_frames = len(sig.audio) // HOP
            t0 = time.perf_counter()
            est = method.compute(sig.audio, n_frames)
            rtf = (time.perf_counter() - t0) / seconds
            ref, scored = reference_frames(sig, n_frames)
            m = score(est, ref, scored)
            print(f"{name:32s} {cond:>6s} {m['RPA']:6.3f} {m['VR']:6.3f} {m['VFA']:6.3f} {m['GPE']:6.3f} "
                  f"{rtf:7.4f} {load_s:7.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
