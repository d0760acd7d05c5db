"""Preprocess throughput (seconds of audio per wall-clock second) on the demo voice, 1 and 2 processes.

    python benchmarks/bench_preprocess.py [--dataset assets/voices/slt] [--sample_rate 40000] [--repeat 2]

Prints one line per setting; the best of ``--repeat`` runs is reported (the machine is shared).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import torch

    torch.set_num_threads(1)
    from arvc.stages.preprocess import PreprocessConfig, preprocess

    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default=str(ROOT / "assets" / "voices" / "slt"))
    ap.add_argument("--sample_rate", type=int, default=40000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--cores", default="1,2")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    settings = [  # cut, high-pass, denoise, normalisation, chunk_len
        ("Automatic", False, False, "none", 3.0),
        ("Automatic", True, False, "post", 3.0),
        ("Simple", False, False, "none", 1.5),
        ("Automatic", True, True, "post", 3.0),
    ]
    with tempfile.TemporaryDirectory() as logs:  # warm-up: imports, caches
        preprocess(PreprocessConfig("warm", dataset_path=args.dataset, sample_rate=args.sample_rate, noise_reduction=True,
                                    cpu_cores=1, logs_dir=logs, progress=False))
    import soundfile as sf

    from arvc.preprocessing.discovery import discover_dataset

    sources, _ = discover_dataset(args.dataset)
    seconds = sum(sf.info(s.path).duration for s in sources)
    print(f"dataset {args.dataset}: {len(sources)} files, {seconds:.1f} s of audio, target {args.sample_rate} Hz")
    for cut, effects, nr, norm, chunk_len in settings:
        for cores in (int(c) for c in args.cores.split(",")):
            best = None
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as logs:
                    t0 = time.perf_counter()
                    res = preprocess(PreprocessConfig(
                        "bench", dataset_path=args.dataset, sample_rate=args.sample_rate, cut_method=cut, chunk_len=chunk_len,
                        process_effects=effects, noise_reduction=nr, normalization=norm, cpu_cores=cores,
                        logs_dir=logs, progress=False,
                    ))
                    wall = time.perf_counter() - t0
                best = wall if best is None else min(best, wall)
            print(
                f"cut={cut:<9} chunk={chunk_len} effects={effects!s:<5} denoise={nr!s:<5} norm={norm:<4} cores={cores}: "
                f"{res.chunk_count:4d} chunks in {best:6.2f} s wall -> {seconds / best:7.1f} s of audio per s"
            )


if __name__ == "__main__":
    main()
