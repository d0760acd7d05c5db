"""Content-embedder and extract-stage speed on the CPU. Prints numbers; asserts nothing.

    python benchmarks/bench_embedders.py [--threads 2] [--seconds 3] [--files 8] [--no-extract]

Embedders timed on ``--seconds`` of speech (real-time factor = compute seconds / audio seconds):
a full-size HuBERT/ContentVec base (random init, 12 layers x 768, same cost as contentvec) in fp32
and bf16, the tiny fixture embedder, and the packaged Whisper tiny.en encoder (30 s window).
Then the whole extract stage (pm F0 + whisper-tiny.en) on ``--files`` slt recordings.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, repeat: int = 3) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bench_embedders(seconds: float) -> None:
    from transformers import HubertConfig

    from arvc.audio.io import load_audio
    from arvc.features.embedders import load_embedder
    from arvc.features.embedders.hubert import _hubert_class

    speech = load_audio(ROOT / "assets/voices/slt/slt_01.flac", sr=16000)
    speech = np.tile(speech, int(np.ceil(seconds * 16000 / len(speech))))[: int(seconds * 16000)]
    audio = torch.from_numpy(speech)[None]

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        _hubert_class()(HubertConfig()).save_pretrained(tmp, safe_serialization=True)  # base size, random
        print(f"(built a random full-size HuBERT base in {time.perf_counter() - t:.1f} s)")
        for precision in ("fp32", "bf16"):
            t = time.perf_counter()
            emb = load_embedder("custom", path=tmp, precision=precision)
            load = time.perf_counter() - t
            sec = timed(lambda: emb.extract(audio))
            print(f"hubert-base (contentvec size) {precision}: load {load:.2f} s, {sec:.3f} s per {seconds:g} s "
                  f"-> RTF {sec / seconds:.3f}")
        emb = load_embedder("custom", path=tmp, version="v1")
        sec = timed(lambda: emb.extract(audio))
        print(f"hubert-base v1 (layer 9 + final_proj): {sec:.3f} s -> RTF {sec / seconds:.3f}")
        del emb

    fixture = ROOT.parent / "shared/fixtures/pipeline_tiny/embedder"
    if fixture.is_dir():
        emb = load_embedder("custom", path=fixture)
        sec = timed(lambda: emb.extract(audio))
        print(f"fixture tiny HuBERT (2 layers): {sec:.3f} s -> RTF {sec / seconds:.3f}")

    t = time.perf_counter()
    w = load_embedder("whisper-tiny.en")
    load = time.perf_counter() - t
    sec = timed(lambda: w.extract(audio))
    print(f"whisper-tiny.en (CT2 fp32, 30 s window): load {load:.2f} s, {sec:.3f} s per {seconds:g} s chunk "
          f"-> RTF {sec / seconds:.3f}")
    batch = torch.cat([audio] * 4)
    sec4 = timed(lambda: w.extract(batch), repeat=2)
    print(f"whisper-tiny.en batch of 4 chunks: {sec4:.3f} s ({sec4 / 4:.3f} s per chunk)")


def bench_extract(files: int) -> None:
    import logging

    from arvc.stages.extract import ExtractConfig, extract
    from arvc.stages.preprocess import PreprocessConfig, preprocess

    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        ds = Path(tmp) / "ds"
        ds.mkdir()
        for p in sorted((ROOT / "assets/voices/slt").glob("*.flac"))[:files]:
            shutil.copy(p, ds)
        logs = Path(tmp) / "logs"
        pre = preprocess(PreprocessConfig("bench", dataset_path=ds, sample_rate=40000, cpu_cores=1, logs_dir=logs,
                                          progress=False))
        for cores in (1, 2):
            if cores == 2:
                for sub in ("f0", "f0_voiced", "extracted", "mute", "filelist.txt"):
                    p = logs / "bench" / sub
                    shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
            t = time.perf_counter()
            res = extract(ExtractConfig("bench", f0_method="pm", embedder_model="whisper-tiny.en", cpu_cores=cores,
                                        logs_dir=logs, progress=False))
            el = time.perf_counter() - t
            print(f"extract (pm + whisper-tiny.en, cpu_cores={cores}): {res.chunks} chunks "
                  f"({pre.chunk_seconds if hasattr(pre, 'chunk_seconds') else pre.total_seconds:.1f} s audio) "
                  f"in {el:.1f} s -> {el / res.chunks:.2f} s per chunk")
        t = time.perf_counter()
        extract(ExtractConfig("bench", f0_method="pm", embedder_model="whisper-tiny.en", logs_dir=logs,
                              progress=False))
        print(f"extract re-run with everything done: {time.perf_counter() - t:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--no-extract", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")
    bench_embedders(args.seconds)
    if not args.no_extract:
        bench_extract(args.files)


if __name__ == "__main__":
    main()
