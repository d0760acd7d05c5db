"""``arvc preprocess <model>``: slice a dataset folder into training chunks (flags as Advanced-RVC-Inference)."""

from __future__ import annotations

import argparse

from arvc.api.argtypes import add_bool, str2bool

CUT_METHODS = ("Automatic", "Simple", "Skip")
NORMALIZATIONS = ("none", "pre", "post")


def _choice(choices: tuple[str, ...]):
    def parse(value: str) -> str:
        for c in choices:
            if value.strip().lower() == c.lower():
                return c
        raise argparse.ArgumentTypeError(f"invalid choice {value!r} (choose from {', '.join(choices)})")

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_name", help="experiment name; chunks go to <logs_dir>/<model_name>/")
    parser.add_argument(
        "--dataset_path", default=None,
        help="folder of recordings; one sub-folder per speaker for multi-speaker (default $ARVC_DATASETS_DIR/<model_name> "
        "or ./datasets/<model_name>)",
    )
    parser.add_argument("--sample_rate", type=int, choices=(32000, 40000, 48000), default=40000, help="model sample rate (default 40000)")
    parser.add_argument(
        "--cut_method", "--cut_preprocess", type=_choice(CUT_METHODS), default="Automatic", metavar="{Automatic,Simple,Skip}",
        help="Automatic: split at silences, then chunk; Simple: fixed chunks; Skip: keep files whole up to chunk_len+overlap_len",
    )
    parser.add_argument("--chunk_len", type=float, default=3.0, help="chunk length in seconds (default 3.0)")
    parser.add_argument("--overlap_len", type=float, default=0.3, help="overlap between consecutive chunks in seconds (default 0.3)")
    parser.add_argument(
        "--normalization", "--normalization_mode", type=_choice(NORMALIZATIONS), default="none", metavar="{none,pre,post}",
        help="RVC peak/blend normalisation of whole files (pre) or of each chunk (post); default none",
    )
    add_bool(parser, "--process_effects", False, "high-pass against rumble as RVC: Butterworth order 5 at 48 Hz, causal (lfilter)")
    parser.add_argument(
        "--noise_reduction", "--clean_dataset", nargs="?", const=True, default=False, type=str2bool, metavar="BOOL",
        help="spectral-gating denoise (on the GPU when there is one)",
    )
    parser.add_argument("--clean_strength", type=float, default=0.7, help="denoise strength 0..1 (default 0.7)")
    parser.add_argument("--cpu_cores", type=int, default=None, help="worker processes (default: all cores; 1 = no subprocess)")
    parser.add_argument("--logs_dir", default=None, help="root of experiment folders (default $ARVC_LOGS_DIR or ./logs)")
    add_bool(parser, "--progress", True, "show a progress bar")


def run(args: argparse.Namespace) -> int:
    from arvc.stages.preprocess import PreprocessConfig, format_duration, preprocess

    result = preprocess(
        PreprocessConfig(
            model_name=args.model_name, dataset_path=args.dataset_path, sample_rate=args.sample_rate,
            cut_method=args.cut_method, chunk_len=args.chunk_len, overlap_len=args.overlap_len,
            normalization=args.normalization, process_effects=args.process_effects,
            noise_reduction=args.noise_reduction, clean_strength=args.clean_strength,
            cpu_cores=args.cpu_cores, logs_dir=args.logs_dir, progress=args.progress,
        )
    )
    print(
        f"{result.paths.root}: {result.chunk_count} chunks from {result.files_used} of {result.files_found} files "
        f"({format_duration(result.total_seconds)}, {len(result.speakers)} speaker(s)); "
        f"{len(result.unreadable)} unreadable, {len(result.without_chunks)} without chunks"
    )
    return 0
