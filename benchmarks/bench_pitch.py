"""Pitch-tracker accuracy and speed on voices with an exactly known F0 (WORLD resyntheses), clean and degraded.

    python benchmarks/bench_pitch.py --quick     # 9 clips of <= 1.5 s, 6 conditions (a few minutes on 2 vCPUs)
    python benchmarks/bench_pitch.py             # the full table: 36 clips (about 100 s), every condition
    python benchmarks/bench_pitch.py -m harvest,fcpe,swift --conditions clean,white10
    python benchmarks/bench_pitch.py --json out.json --save-tracks DIR   # machine-readable results, raw F0s
    python benchmarks/bench_pitch.py --skip-jumps   # also unscored: frames within 20 ms of a > 1 semitone step

Corpus (``pitch_corpus.py``): the bundled recordings (assets/voices, else ../shared/data/voices) analysed
with WORLD, their F0 replaced (as analysed; +-12 semitones; vibrato 40-100 cents at 4.5-6.5 Hz; glides;
octave jumps; breathy = raised aperiodicity; low voices 60-90 Hz; high voices 600-1000 Hz) and resynthesised.
Conditions: clean; white and speech-shaped noise at 20 / 10 / 0 dB SNR (relative to the voiced frames);
a synthetic room reverb (RT60 0.5 s); telephone band (300-3400 Hz); an MP3 round trip (32 kbit/s, PyAV);
and ``tones``, the synthetic harmonic/formant tones of the first version of this benchmark.

Scores (frames with a well-defined pitch only: voiced and periodic, 30 ms away from voicing changes):
  RPA   raw pitch accuracy: voiced frames estimated voiced and within 50 cents
  RCA   raw chroma accuracy: the same, octave errors forgiven
  VR    voicing recall;  VFA  voicing false alarm (on unvoiced frames 30 ms from any voicing)
  GPE   gross pitch error: of frames voiced in both, the share more than 20 % off
  s/s   wall seconds of compute() per audio second over all conditions (after a warm-up; loading excluded)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pitch_corpus as pc  # noqa: E402

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


def tones_track(seed: int = 0) -> "pc.Track":
    """The synthetic tones as a corpus Track (frames within 20 ms of a voicing change unscored)."""
    sig = build_clean(np.random.default_rng(seed))
    n = len(sig.audio) // HOP
    ref, scored = reference_frames(sig, n)
    return pc.Track(sig.audio[: n * HOP], ref.astype(np.float64), scored & (ref > 0), scored & (ref == 0))


CONDITIONS = ("clean", "white20", "white10", "white0", "speech20", "speech10", "speech0", "reverb", "tel", "mp3",
              "tones")
QUICK = ("clean", "white10", "speech10", "reverb", "tel", "mp3")
DEFAULT_HYBRIDS = ("hybrid[fcpe+swift+harvest]", "hybrid[crepe-tiny+fcpe+swift]")


def make_conditions(clean: "pc.Track", names, seed: int = 0) -> dict[str, "pc.Track"]:
    """Each named condition of ``clean`` (see CONDITIONS); its noise depends only on ``seed`` and the name."""
    out = {}
    for i, name in enumerate(CONDITIONS):
        if name not in names:
            continue
        rng = np.random.default_rng([seed, i])
        if name == "clean":
            out[name] = clean
        elif name.startswith("white"):
            out[name] = pc.white_noise(clean, float(name[5:]), rng)
        elif name.startswith("speech"):
            out[name] = pc.speech_noise(clean, float(name[6:]), rng)
        elif name == "reverb":
            out[name] = pc.reverb(clean, rng)
        elif name == "tel":
            out[name] = pc.telephone(clean)
        elif name == "mp3":
            try:
                out[name] = pc.mp3(clean)
            except Exception as e:  # no MP3 encoder in this PyAV build: say so, skip the condition
                print(f"mp3 condition skipped: {type(e).__name__}: {e}")
        elif name == "tones":
            out[name] = tones_track(seed)
    return out


def run_method(name: str, conds: dict, device=None, save_dir: Path | None = None):
    """Scores per condition and seconds per audio second of ``name``; None when it cannot be built."""
    from arvc.errors import ArvcError
    from arvc.features.f0 import F0Method, get_f0_method

    t0 = time.perf_counter()
    try:
        method = get_f0_method(name, device=device)
    except (ArvcError, ImportError) as e:
        print(f"{name:32s} skipped: {e}", flush=True)
        return None
    load_s = time.perf_counter() - t0
    method.compute(next(iter(conds.values())).audio[:SR])  # warm-up (numba JIT, lazy init)
    rows, busy, seconds = {}, 0.0, 0.0
    for cond, track in conds.items():
        t0 = time.perf_counter()
        est = method.compute(track.audio, len(track.f0))
        busy += time.perf_counter() - t0
        seconds += len(track.audio) / SR
        rows[cond] = pc.score(est, track)
        if save_dir is not None:
            save_dir.mkdir(parents=True, exist_ok=True)
            np.save(save_dir / f"{name}__{cond}.npy", est)
            if type(method).candidate is not F0Method.candidate:  # untimed: raw pitch + confidence for fusion design
                f0, conf = method.candidate(track.audio, len(track.f0))
                np.savez(save_dir / f"{name}__{cond}__cand.npz", f0=f0, conf=conf)
    return rows, busy / seconds, load_s


HEADER = f"{'method':32s} {'cond':>8s} {'RPA':>6s} {'RCA':>6s} {'VR':>6s} {'VFA':>6s} {'GPE':>6s}"


def print_rows(name: str, rows: dict) -> None:
    for cond, m in rows.items():
        print(f"{name:32s} {cond:>8s} " + " ".join(f"{m[k]:6.3f}" for k in ("RPA", "RCA", "VR", "VFA", "GPE")),
              flush=True)


def print_table(results: dict, conds) -> None:
    cols = [c for c in ("clean", "white10", "speech10", "reverb", "tel", "mp3", "tones") if c in conds]
    print("\nRPA summary (mean = over every condition run)")
    print(f"{'method':32s} " + " ".join(f"{c:>8s}" for c in cols) + f" {'mean':>6s} {'s/s':>7s} {'load s':>6s}")
    for name, (rows, rtf, load_s) in sorted(results.items(), key=lambda kv: -np.mean([m["RPA"] for m in kv[1][0].values()])):
        mean = np.mean([m["RPA"] for m in rows.values()])
        print(f"{name:32s} " + " ".join(f"{rows[c]['RPA']:8.3f}" for c in cols) + f" {mean:6.3f} {rtf:7.4f} {load_s:6.2f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-m", "--methods", default="all",
                   help="comma list of F0 methods (hybrid[a+b] allowed); 'all' = every registered one + hybrids")
    p.add_argument("--conditions", default=None,
                   help=f"comma list from {','.join(CONDITIONS)} (default: all; with --quick {','.join(QUICK)})")
    p.add_argument("--quick", action="store_true", help="one clip of at most 1.5 s per variant and fewer conditions")
    p.add_argument("--variants", default=",".join(pc.VARIANTS), help="comma list of corpus variants")
    p.add_argument("--clips", type=int, default=4, help="clips per variant in the full corpus")
    p.add_argument("--voices", default=None, help="voice folder root (default: assets/voices, else ../shared/data/voices)")
    p.add_argument("--threads", type=int, default=2, help="torch / BLAS threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.add_argument("--skip-jumps", action="store_true",
                   help="also leave unscored the voiced frames within 20 ms of a pitch change of more than a semitone "
                        "between 10 ms frames (octave jumps, fast slides: no tracker's window can follow them)")
    p.add_argument("--json", default=None, help="write the scores here as JSON")
    p.add_argument("--save-tracks", default=None, help="save every estimate as DIR/<method>__<cond>.npy (+ truth; + <method>__<cond>__cand.npz, the raw pitch and confidence, for methods that give one)")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from arvc.features.f0 import F0_METHODS, f0_method_names

    t_start = time.perf_counter()
    f0_method_names()
    names = (F0_METHODS.names() + list(DEFAULT_HYBRIDS) if args.methods == "all"
             else [n.strip() for n in args.methods.split(",") if n.strip()])
    root = Path(__file__).resolve().parents[1]
    roots = [Path(args.voices)] if args.voices else [root / "assets" / "voices", root.parent / "shared" / "data" / "voices"]
    clean, lines = pc.build_corpus(roots, 1 if args.quick else args.clips, 1.5 if args.quick else None, args.seed,
                                  [v.strip() for v in args.variants.split(",") if v.strip()])
    wanted = args.conditions.split(",") if args.conditions else (QUICK if args.quick else CONDITIONS)
    conds = make_conditions(clean, [c.strip() for c in wanted], args.seed)
    if args.skip_jumps:
        for cond, tr in conds.items():
            keep = pc.away_from_jumps(tr.f0, round(pc.EDGE_S * SR / HOP) - 1)
            conds[cond] = replace(tr, voiced=tr.voiced & keep)
    save_dir = Path(args.save_tracks) if args.save_tracks else None
    if save_dir is not None:
        save_dir.mkdir(parents=True, exist_ok=True)
        for cond, tr in conds.items():
            np.savez(save_dir / f"truth__{cond}.npz", audio=tr.audio, f0=tr.f0, voiced=tr.voiced, unvoiced=tr.unvoiced)
    n_voiced = int(next(iter(conds.values())).voiced.sum()) if conds else int(clean.voiced.sum())
    print(f"corpus: {len(lines)} clips, {len(clean.audio) / SR:.1f} s per condition, {n_voiced} scored "
          f"voiced{' (--skip-jumps)' if args.skip_jumps else ''} / {int(clean.unvoiced.sum())} unvoiced frames "
          f"(built in {time.perf_counter() - t_start:.0f} s); "
          f"conditions: {', '.join(conds)}; torch threads {args.threads}; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs (timings are pessimistic on a busy machine)", flush=True)
    results = {}
    print(HEADER + "\n" + "-" * len(HEADER))
    for name in names:
        r = run_method(name, conds, args.device, save_dir)
        if r is not None:
            results[name] = r
            print_rows(name, r[0])
    print_table(results, conds)
    print(f"\ntotal run time {time.perf_counter() - t_start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({n: {"scores": r[0], "s_per_s": r[1], "load_s": r[2]}
                                               for n, r in results.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
