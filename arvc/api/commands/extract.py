"""``arvc extract <model>``: F0 and content features of the preprocessed chunks (flags as Applio)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_name", help="experiment name (a folder made by 'arvc preprocess')")
    parser.add_argument("--f0_method", default="rmvpe",
                        help="pitch method: rmvpe, crepe, crepe-tiny, fcpe, harvest, dio, pm, yin, pyin, piptrack, "
                             "swipe, rapt, swift, pesto, or hybrid[a+b+...] (per frame: voiced when at least half "
                             "the methods say so, F0 = median in log-Hz of their voiced estimates) (default rmvpe)")
    parser.add_argument("--embedder_model", default="contentvec",
                        help="contentvec (default), hubert_base, chinese-hubert-base, japanese-hubert-base, "
                             "japanese-hubert-large, korean-hubert-base, spin, spin-v2, whisper-tiny.en, custom, "
                             "or a Hugging Face id owner/name")
    parser.add_argument("--embedder_path", "--embedder_model_custom", default=None,
                        help="for --embedder_model custom: a folder with config.json + model.safetensors / "
                             "pytorch_model.bin (or one weight file)")
    parser.add_argument("--version", choices=("v1", "v2"), default="v2",
                        help="model version: v2 = 768-dim features (default), v1 = 256-dim (layer 9 + final_proj)")
    parser.add_argument("--sample_rate", type=int, choices=(32000, 40000, 48000), default=None,
                        help="model sample rate; checked against the preprocessed chunks (default: theirs)")
    parser.add_argument("--hop_length", type=int, default=160,
                        help="F0 analysis hop in samples at 16 kHz (default 160 = 10 ms; other hops are resampled "
                             "to 10 ms frames)")
    parser.add_argument("--f0_min", type=float, default=50.0, help="lowest F0 in Hz (default 50)")
    parser.add_argument("--f0_max", type=float, default=1100.0, help="highest F0 in Hz (default 1100)")
    parser.add_argument("--include_mutes", type=int, default=2,
                        help="silent training entries per speaker added to filelist.txt (default 2)")
    parser.add_argument("--cpu_cores", type=int, default=None,
                        help="processes for F0 on the CPU (default: all cores; 1 = in-process)")
    parser.add_argument("--gpu", default=None, help="GPU id(s), e.g. 0 (default: the first available, else CPU)")
    parser.add_argument("--embedders_mix", default=None, metavar="A,B[,RATIO]",
                        help="blend two transformer layers: RATIO * layer A + (1 - RATIO) * layer B (e.g. 9,12,0.5)")
    parser.add_argument("--embedder_layer", type=int, default=None,
                        help="take features from this transformer layer (default: last for v2, 9 for v1)")
    parser.add_argument("--precision", choices=("auto", "fp32", "fp16", "bf16"), default="auto",
                        help="embedder precision (default auto: fp16 on a CUDA GPU, bf16 on AMX CPUs, else fp32; fp16 on GPUs only)")
    parser.add_argument("--logs_dir", default=None, help="root of experiment folders (default $ARVC_LOGS_DIR or ./logs)")
    from arvc.api.argtypes import add_bool

    add_bool(parser, "--progress", True, "show progress bars")


def run(args: argparse.Namespace) -> int:
    from arvc.stages.extract import ExtractConfig, extract

    result = extract(ExtractConfig(
        model_name=args.model_name, f0_method=args.f0_method, embedder_model=args.embedder_model,
        embedder_path=args.embedder_path, version=args.version, sample_rate=args.sample_rate,
        hop_length=args.hop_length, f0_min=args.f0_min, f0_max=args.f0_max, include_mutes=args.include_mutes,
        cpu_cores=args.cpu_cores, gpu=args.gpu, embedder_layer=args.embedder_layer,
        embedders_mix=args.embedders_mix, precision=args.precision, logs_dir=args.logs_dir, progress=args.progress,
    ))
    print(
        f"{result.paths.root}: {result.chunks} chunks ({result.f0_computed} F0 and {result.features_computed} "
        f"feature files computed, the rest reused), {result.content_dim}-dim features, "
        f"{result.filelist_lines} lines in {result.paths.filelist.name}"
        + (f"; {len(result.skipped)} chunk(s) left out" if result.skipped else "")
    )
    return 0
