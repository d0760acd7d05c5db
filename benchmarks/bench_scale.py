"""Scale curve: time and peak memory of preprocess, extract, create-index and training per hour of audio.

Builds a synthetic multi-speaker dataset of H hours from the bundled voices (``assets/voices/``: slt, espeak_f3,
espeak_m3, kal), one folder per speaker. Every speaker is one base voice with its own pitch shift (-5..+5
semitones) and formant shift (x0.88..1.12: sox ``speed`` then ``pitch`` back), rendered once per sentence with sox;
files are ~20 s runs of random sentences, each file at its own speed (x0.9..1.1, soxr resampling), until the
speaker's share of H is filled. About 10 minutes per speaker. Deterministic for a given ``--seed``.

Then, per size, each stage runs as its own ``arvc`` CLI process (one thread, one worker process):

    preprocess    --sample_rate 40000 --cpu_cores 1
    extract       --embedder_model whisper-tiny.en --f0_method fcpe --cpu_cores 1 (the offline features)
    create-index  (defaults: KMeans to 10,000 centroids above 200,000 frames)
    train         full-size v2 40 kHz model from scratch, batch 8, ``--max_steps N``: a whole epoch of the full
                  model is many CPU hours here, so s/step is measured over steps 2..N (step 1 is warm-up) and the
                  epoch time is s/step x steps/epoch (the bucketed sampler's count for this dataset)

recording wall time, CPU time (user + system of the process and its workers, ``os.wait4``), the peak RSS of the
largest process (``ru_maxrss``) and the peak summed RSS of the process tree (psutil, sampled every 0.1 s; shared
pages of forked workers count twice). Prints a table per size, s per hour of audio, a least-squares line per stage
(wall = a + b * hours) and the extrapolation to 50 hours.

    nice -n 5 python benchmarks/bench_scale.py --hours 1,2,4,8 [--work DIR] [--train_steps 4] [--seed 0]
    python benchmarks/bench_scale.py --hours 0.05,0.1 --stages preprocess     # just one stage
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BASE_VOICES = ("slt", "espeak_f3", "espeak_m3", "kal")
STAGES = ("preprocess", "extract", "index", "train")
SR = 32000  # dataset files' rate (the sources are 16-32 kHz)
SPEAKER_SECONDS = 600.0
FILE_SECONDS = 20.0


# ------------------------------------------------------------------------------------------ dataset
def _voice_dirs() -> list[Path]:
    for root in (ROOT / "assets" / "voices", ROOT.parent / "shared" / "data" / "voices"):
        dirs = [root / v for v in BASE_VOICES if (root / v).is_dir()]
        if dirs:
            return dirs
    raise SystemExit("no bundled voices found under assets/voices or ../shared/data/voices")


def _render(src: Path, semitones: float, formant: float) -> np.ndarray:
    """One sentence (T,) float32 at SR: formant x``formant`` and pitch +``semitones`` (sox, no dither)."""
    import soundfile as sf

    cents = 100 * semitones - 1200 * math.log2(formant)  # `speed` moved pitch and formants; pitch moves back
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.wav"
        subprocess.run(["sox", "-D", str(src), "-e", "floating-point", "-b", "32", str(out), "remix", "1",
                        "speed", f"{formant:.5f}", "pitch", f"{cents:.1f}", "rate", "-v", str(SR)],
                       check=True, capture_output=True)
        audio, sr = sf.read(out, dtype="float32")
    assert sr == SR
    return audio


def _speaker_files(sentences: list[np.ndarray], seconds: float, rng: np.random.Generator) -> list[np.ndarray]:
    """~FILE_SECONDS files of random sentences (0.3 s apart), each at its own speed, ``seconds`` in all."""
    import soxr

    files, left, gap = [], seconds, np.zeros(int(0.3 * SR), np.float32)
    while left > 0.5:
        speed = rng.uniform(0.9, 1.1)
        parts, n = [], 0
        while n < min(FILE_SECONDS, left) * SR:
            s = soxr.resample(sentences[rng.integers(len(sentences))], SR * speed, SR).astype(np.float32)
            parts += [s, gap]
            n += len(s) + len(gap)
        audio = np.concatenate(parts)[: int(min(FILE_SECONDS, left) * SR)]
        files.append(audio)
        left -= len(audio) / SR
    return files


def build_dataset(folder: Path, hours: float, seed: int) -> float:
    """Write the dataset (speaker folders of FLAC files) unless ``folder`` already holds it; returns its hours."""
    import soundfile as sf

    stamp = folder / "dataset.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == {"hours": hours, "seed": seed, "version": 1}:
        return hours
    shutil.rmtree(folder, ignore_errors=True)
    voices = _voice_dirs()
    sources = {v.name: sorted(v.glob("*.flac")) + sorted(v.glob("*.wav")) for v in voices}
    n_speakers = max(2, round(hours * 3600 / SPEAKER_SECONDS))
    rng = np.random.default_rng(seed)
    for k in range(n_speakers):
        voice = voices[k % len(voices)]
        semitones, formant = rng.uniform(-5, 5), rng.uniform(0.88, 1.12)
        sentences = [_render(p, semitones, formant) for p in sources[voice.name]]
        out = folder / f"spk{k:03d}_{voice.name}"
        out.mkdir(parents=True)
        for i, audio in enumerate(_speaker_files(sentences, hours * 3600 / n_speakers, rng)):
            sf.write(out / f"{i:04d}.flac", audio, SR, subtype="PCM_16")
    stamp.write_text(json.dumps({"hours": hours, "seed": seed, "version": 1}))
    return hours


# ------------------------------------------------------------------------------------------ measuring
@dataclass
class Measure:
    wall: float
    cpu: float
    rss_max_mb: float  # largest single process
    rss_tree_mb: float  # summed over the process tree, sampled
    cpu_trace: list | None = None  # (Unix time, CPU seconds so far), sampled


def _sample_tree(pid: int, peak: list[float], cpu: list[tuple[float, float]], stop: threading.Event) -> None:
    """Every 0.1 s: the summed RSS of the process tree (peak kept in ``peak[0]``) and (Unix time, CPU seconds of the
    root process and its live children) appended to ``cpu``."""
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not stop.is_set():
        total, used = 0, 0.0
        try:
            for p in [root, *root.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                    t = p.cpu_times()
                    used += t.user + t.system
                except psutil.NoSuchProcess:
                    pass
        except psutil.NoSuchProcess:
            break
        peak[0] = max(peak[0], total)
        cpu.append((time.time(), used))
        stop.wait(0.1)


def run_stage(argv: list[str], log: Path) -> Measure:
    """Run ``arvc <argv>`` as a child process; wall, CPU and peak RSS of it and its workers."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with open(log, "w") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-m", "arvc.api.cli", *argv], stdout=out, stderr=subprocess.STDOUT,
                             env=env)
        peak, trace, stop = [0.0], [], threading.Event()
        sampler = threading.Thread(target=_sample_tree, args=(p.pid, peak, trace, stop), daemon=True)
        sampler.start()
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        stop.set()
        sampler.join()
        p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"arvc {' '.join(argv)} failed ({p.returncode}); see {log}:\n" + log.read_text()[-2000:])
    return Measure(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, peak[0] / 2**20, trace)


def _train_steps(events: Path, trace: list) -> tuple[float, float, int]:
    """Wall and CPU seconds per step over steps 2..N (between the ``metrics`` events of steps 1 and N; CPU from the
    sampled trace) and N."""
    times = {}
    for line in events.read_text().splitlines():
        e = json.loads(line)
        if e["type"] == "metrics" and e.get("stage") == "train":
            times.setdefault(e["step"], e["time"])
    steps = sorted(times)
    if len(steps) < 2:
        raise SystemExit(f"{events}: fewer than 2 training steps logged")
    first, last = times[steps[0]], times[steps[-1]]
    ts, cs = np.array([t for t, _ in trace]), np.array([c for _, c in trace])
    cpu = float(np.interp(last, ts, cs) - np.interp(first, ts, cs))
    n = steps[-1] - steps[0]
    return (last - first) / n, cpu / n, steps[-1]


def steps_per_epoch(exp: Path, batch_size: int) -> int:
    """Optimizer steps in one epoch of this experiment's filelist on one process (the trainer's sampler)."""
    from arvc.data import TrainingDataset, read_filelist
    from arvc.data.sampler import BucketBatchSampler
    from arvc.models.config import ModelConfig

    mc = ModelConfig.preset("v2", 40000)
    ds = TrainingDataset(read_filelist(exp / "filelist.txt"), sample_rate=40000, hop=mc.hop_length,
                         spec_channels=mc.spec_channels, content_dim=768)
    return len(BucketBatchSampler(ds.lengths(), batch_size, seed=1234))


def measure_size(hours: float, work: Path, args) -> dict:
    data = work / f"data_{hours:g}h_seed{args.seed}"
    t0 = time.perf_counter()
    build_dataset(data, hours, args.seed)
    print(f"# {hours:g} h dataset ready in {data} ({time.perf_counter() - t0:.0f} s)", flush=True)
    logs, name = work / "logs", f"scale_{hours:g}h"
    row: dict = {"hours": hours}
    common = ["--logs_dir", str(logs)]
    argvs = {
        "preprocess": ["preprocess", name, "--dataset_path", str(data), "--sample_rate", "40000", "--cpu_cores", "1",
                       "--progress", "false", *common],
        "extract": ["extract", name, "--embedder_model", "whisper-tiny.en", "--f0_method", "fcpe", "--cpu_cores", "1",
                    "--progress", "false", *common],
        "index": ["create-index", name, *common],
        "train": ["train", name, "--from_scratch", "--model_size", "full", "--batch_size", str(args.batch_size),
                  "--epochs", "1", "--max_steps", str(args.train_steps), "--log_every", "1", "--progress", "false",
                  "--events", str(work / f"{name}.train.jsonl"), *common],
    }
    for stage in args.stages:
        if stage == "train":
            (work / f"{name}.train.jsonl").unlink(missing_ok=True)
            for old in (logs / name).glob("[GD]_*.pth"):
                old.unlink()
        m = run_stage(argvs[stage], work / f"{name}.{stage}.log")
        if stage == "train":
            row["s_per_step"], row["cpu_s_per_step"], row["last_step"] = _train_steps(work / f"{name}.train.jsonl",
                                                                                      m.cpu_trace)
            row["steps_per_epoch"] = steps_per_epoch(logs / name, args.batch_size)
        m.cpu_trace = None
        row[stage] = asdict(m)
        print(f"#   {stage:10s} {m.wall:8.1f} s wall {m.cpu:8.1f} s CPU  peak RSS {m.rss_max_mb:7.0f} MB "
              f"(tree {m.rss_tree_mb:7.0f} MB)", flush=True)
    info = json.loads((logs / name / "model_info.json").read_text())
    row["audio_hours"] = info.get("total_seconds", hours * 3600) / 3600
    row["chunks"] = info.get("chunk_count")
    return row


# ------------------------------------------------------------------------------------------ report
def _fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares a, b of y = a + b x (b alone for one point)."""
    if len(xs) < 2:
        return 0.0, ys[0] / xs[0]
    b, a = np.polyfit(xs, ys, 1)
    return float(a), float(b)


def _stage_seconds(r: dict, stage: str) -> tuple[float, float]:
    """Wall and CPU seconds of a stage for one size; training: one whole epoch, s/step x steps/epoch."""
    if stage == "train":
        return r["s_per_step"] * r["steps_per_epoch"], r["cpu_s_per_step"] * r["steps_per_epoch"]
    return r[stage]["wall"], r[stage]["cpu"]


def report(rows: list[dict], stages: list[str], target: float) -> None:
    print("\n| stage | hours | wall s | CPU s | wall s / h | CPU s / h | peak RSS MB (largest process / tree) |")
    print("|---|---|---|---|---|---|---|")
    for stage in stages:
        for r in rows:
            wall, cpu = _stage_seconds(r, stage)
            label = stage
            if stage == "train":
                label = (f"train epoch ({r['s_per_step']:.1f} s/step wall, {r['cpu_s_per_step']:.1f} CPU, "
                         f"x {r['steps_per_epoch']} steps)")
            print(f"| {label} | {r['hours']:g} | {wall:.0f} | {cpu:.0f} | {wall / r['hours']:.0f} | "
                  f"{cpu / r['hours']:.0f} | {r[stage]['rss_max_mb']:.0f} / {r[stage]['rss_tree_mb']:.0f} |")
    print(f"\nleast squares, seconds = a + b * hours, extrapolated to {target:g} h:")
    hs = [r["hours"] for r in rows]
    for stage in stages:
        parts = []
        for i, what in enumerate(("wall", "CPU")):
            a, b = _fit(hs, [_stage_seconds(r, stage)[i] for r in rows])
            parts.append(f"{what} a = {a:7.0f} s, b = {b:7.0f} s/h -> {(a + b * target) / 3600:6.1f} h")
        rss = [r[stage]["rss_max_mb"] for r in rows]
        print(f"  {stage:10s} " + "; ".join(parts) + f"; peak RSS {min(rss):.0f}..{max(rss):.0f} MB")


def train_step_flops(batch_size: int) -> tuple[float, int]:
    """FLOPs of one fp32 training step (G forward, D step, G step) of the full v2 40 kHz model on a batch of 3 s
    items (torch's FlopCounterMode: matmuls and convolutions, forward and backward), for the on-paper GPU estimate."""
    from torch.utils.flop_counter import FlopCounterMode

    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _training_data import make_experiment
    from bench_train import _trainer

    with tempfile.TemporaryDirectory() as tmp:
        exp = make_experiment(Path(tmp) / "bench", n_items=batch_size, seconds=3.0, equal_lengths=True)
        trainer = _trainer(exp, False, batch_size, False, "fp32")
        batch = next(iter(trainer.batches(1)))
        with FlopCounterMode(display=False) as counter:
            trainer.train_step([batch])
        params = sum(p.numel() for net in (trainer.net_g, trainer.net_d) for p in net.parameters())
    return float(counter.get_total_flops()), params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", default="1,2,4,8", help="comma-separated dataset sizes in hours")
    ap.add_argument("--work", default=None, help="folder for datasets, experiments and logs (default: a temp dir)")
    ap.add_argument("--stages", default=",".join(STAGES), help=f"subset of {','.join(STAGES)}, in order")
    ap.add_argument("--train_steps", type=int, default=4, help="training steps per size (step 1 is warm-up)")
    ap.add_argument("--batch_size", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--target", type=float, default=50.0, help="hours to extrapolate to")
    ap.add_argument("--json", default=None, help="also write the rows here")
    ap.add_argument("--report", default=None, help="only print the table of rows saved by an earlier --json")
    ap.add_argument("--flops", action="store_true", help="only count the FLOPs of one training step and exit")
    args = ap.parse_args()
    if args.flops:
        flops, params = train_step_flops(args.batch_size)
        print(f"one training step, full v2 40 kHz, batch {args.batch_size} x 3 s items: {flops / 1e12:.2f} TFLOP; "
              f"G + D {params / 1e6:.1f} M parameters (what the all-reduce moves per step)")
        return
    args.stages = [s for s in args.stages.split(",") if s]
    if not set(args.stages) <= set(STAGES) or args.train_steps < 2:
        raise SystemExit(f"--stages: a subset of {','.join(STAGES)}; --train_steps: at least 2")
    if args.report:
        rows = json.loads(Path(args.report).read_text())
        report(rows, [s for s in args.stages if all(s in r for r in rows)], args.target)
        return
    work = Path(args.work or tempfile.mkdtemp(prefix="arvc_scale_"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for hours in (float(h) for h in args.hours.split(",")):
        rows.append(measure_size(hours, work, args))
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=1))
    import platform

    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; one thread per stage; "
          f"training: batch {args.batch_size}, s/step over steps 2..{args.train_steps}")
    report(rows, args.stages, args.target)


if __name__ == "__main__":
    main()
