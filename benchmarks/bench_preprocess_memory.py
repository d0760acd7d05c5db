"""Peak memory of ``arvc preprocess`` on a dataset of N files and on one of 4N: it should not grow with N.

The files are 2 s excerpts of the demo voice (``assets/voices/slt``) at random offsets and gains, 16 kHz, in
folders of 500 (one speaker each). Each run is a child process (``--cpu_cores``, default 2: the pool path);
reported: wall time, the peak RSS of the largest process (``ru_maxrss``: the parent) and the peak summed RSS of the
process tree (psutil, every 0.1 s). ``--code DIR`` runs another checkout's arvc (e.g. the previous commit) on the
same datasets, for a before/after comparison.

    python benchmarks/bench_preprocess_memory.py [--files 1500] [--cpu_cores 2] [--code /path/to/other/checkout]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scale  # its child-process measurement

ROOT = Path(__file__).resolve().parents[1]


def make_dataset(folder: Path, n_files: int, seed: int = 0) -> None:
    import soundfile as sf
    import soxr

    if (folder / "done").is_file():
        return
    voice = sorted((ROOT / "assets" / "voices" / "slt").glob("*.flac"))
    parts = []
    for p in voice:
        a, sr = sf.read(p, dtype="float32")
        parts.append(soxr.resample(a, sr, 16000))
    speech = np.concatenate(parts)
    rng = np.random.default_rng(seed)
    n = 32000
    for i in range(n_files):
        d = folder / f"spk{i // 500:03d}"
        d.mkdir(parents=True, exist_ok=True)
        start = rng.integers(len(speech) - n)
        sf.write(d / f"{i:06d}.wav", speech[start:start + n] * rng.uniform(0.5, 1.0), 16000, subtype="PCM_16")
    (folder / "done").touch()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=1500, help="N: the small dataset's file count (the large has 4N)")
    ap.add_argument("--cpu_cores", type=int, default=2)
    ap.add_argument("--work", default=None)
    ap.add_argument("--code", default=str(ROOT), help="checkout whose arvc runs (default: this one)")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="arvc_premem_"))
    bench_scale.ROOT = Path(args.code)  # run_stage puts ROOT on the children's PYTHONPATH
    print(f"arvc from {args.code}, --cpu_cores {args.cpu_cores}")
    for n in (args.files, 4 * args.files):
        data = work / f"files_{n}"
        make_dataset(data, n)
        name = f"mem_{n}"
        m = bench_scale.run_stage(["preprocess", name, "--dataset_path", str(data), "--sample_rate", "40000",
                                   "--cpu_cores", str(args.cpu_cores), "--progress", "false",
                                   "--logs_dir", str(work / "logs")], work / f"{name}.log")
        print(f"{n:6d} files ({n * 2 / 3600:.2f} h): {m.wall:6.1f} s wall, {m.cpu:6.1f} s CPU, peak RSS "
              f"{m.rss_max_mb:6.1f} MB largest process, {m.rss_tree_mb:6.1f} MB tree", flush=True)


if __name__ == "__main__":
    main()
