"""``arvc infer -m model.pth [--index model.index] -i input(s) -o output``: voice conversion."""

from __future__ import annotations

import argparse
import sys

from arvc.api.argtypes import add_bool


def _gate_db(text: str) -> float | None:
    return None if text.strip().lower() in ("off", "none") else float(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    p = parser
    p.add_argument("-m", "--model", required=True, help="voice model (.pth, RVC/Applio inference format)")
    p.add_argument("--index", default=None, help="retrieval index (.index) of the model; omit to skip retrieval")
    p.add_argument("-i", "--input", nargs="+", required=True, help="audio file(s) and/or folder(s) to convert")
    p.add_argument("-o", "--output", default=None,
                   help="output file (one input) or folder (folder inputs keep their sub-folders); "
                        "default <name>_converted beside the input")
    p.add_argument("--pitch", type=float, default=0.0, help="transpose in semitones (+12 = one octave up)")
    p.add_argument("--f0_method", default="rmvpe",
                   help="pitch estimator: rmvpe (default, RVC's), crepe, crepe-tiny, fcpe, harvest, dio, pm, "
                        "yin, pyin, swipe, rapt, swift, pesto, hybrid[a+b]")
    p.add_argument("--index_rate", type=float, default=0.75,
                   help="0..1, share of each feature frame taken from the index's nearest training frames (default 0.75)")
    p.add_argument("--nprobe", type=int, default=None, help="IVF lists searched per query (default: the value stored in the index)")
    p.add_argument("--filter_radius", type=int, default=3, help="median filter radius for harvest F0 (>= 3 enables it)")
    p.add_argument("--rms_mix_rate", "--volume_envelope", dest="rms_mix_rate", type=float, default=1.0,
                   help="0..1: 1 keeps the model's loudness, 0 follows the input's volume envelope (default 1)")
    p.add_argument("--protect", type=float, default=0.5,
                   help="0..0.5: protect consonants/breaths by keeping pre-index features on unvoiced frames (0.5 = off)")
    p.add_argument("--silence_gate_db", type=_gate_db, default=-60.0,
                   help="mute the output where the input stays below this RMS level (dBFS) for 0.1 s or more; "
                        "'off' keeps RVC's output as is (default -60)")
    p.add_argument("--hop_length", type=int, default=128, help="accepted for Applio compatibility; F0 frames are always 10 ms")
    add_bool(p, "--f0_autotune", False, "snap the pitch to the nearest semitone")
    p.add_argument("--f0_autotune_strength", type=float, default=1.0, help="0..1, how hard autotune snaps")
    p.add_argument("--f0_file", default=None, help="F0 curve file (lines 'seconds,hz') used instead of an F0 method")
    p.add_argument("--embedder_model", default=None,
                   help="content embedder: contentvec, hubert_base, custom, a hub id, ... (default: the one recorded "
                        "in the model, else contentvec)")
    p.add_argument("--embedder_path", default=None, help="local embedder folder (for --embedder_model custom)")
    p.add_argument("--speaker_id", "--sid", dest="speaker_id", type=int, default=0, help="speaker row of multi-speaker models")
    p.add_argument("--resample_sr", type=int, default=0, help="output sample rate (0 = the model's rate)")
    p.add_argument("--format", "--export_format", dest="format", choices=("wav", "flac", "mp3", "ogg"), default=None,
                   help="output format (default: the output file's suffix, else wav)")
    p.add_argument("--wav_subtype", default=None, help="soundfile subtype for wav/flac, e.g. PCM_24 or FLOAT (default PCM_16)")
    add_bool(p, "--split_audio", False, "convert each stretch of speech separately, keeping silences silent")
    p.add_argument("--precision", choices=("auto", "fp32", "fp16", "bf16"), default="auto",
                   help="compute precision (default auto: fp16 on a CUDA GPU, fp32 elsewhere)")
    p.add_argument("--gpu", default=None, help="GPU id (e.g. 0); default: first accelerator, else CPU")
    p.add_argument("--batch_size", type=int, default=None,
                   help="chunks of a long file synthesized together (default: 1 on the CPU, 4 on a GPU)")
    p.add_argument("--seed", type=int, default=None, help="fix the synthesizer's noise for reproducible output")
    add_bool(p, "--deterministic", False, "no random noise at all (prior mean, noiseless NSF source); Applio-parity mode")


def _format_of(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    from pathlib import Path

    if args.output and len(args.input) == 1 and Path(args.input[0]).is_file():
        suffix = Path(args.output).suffix.lower().lstrip(".")
        if suffix in ("wav", "flac", "mp3", "ogg"):
            return suffix
    return "wav"


def run(args: argparse.Namespace) -> int:
    import os

    # oneDNN caches compiled kernels per input shape; every chunk of a long file has its own length, so the
    # default cache (1024 primitives, each with its buffers) grows by hundreds of MB per chunk. Keep it small.
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")
    from arvc.inference.config import InferenceConfig
    from arvc.stages.infer import InferRun, infer

    cfg = InferenceConfig(
        pitch=args.pitch, f0_method=args.f0_method, index_rate=args.index_rate, filter_radius=args.filter_radius,
        rms_mix_rate=args.rms_mix_rate, protect=args.protect, hop_length=args.hop_length,
        f0_autotune=args.f0_autotune, f0_autotune_strength=args.f0_autotune_strength, f0_file=args.f0_file,
        embedder_model=args.embedder_model, embedder_path=args.embedder_path, speaker_id=args.speaker_id,
        resample_sr=args.resample_sr, export_format=_format_of(args), wav_subtype=args.wav_subtype,
        split_audio=args.split_audio, precision=args.precision, gpu=args.gpu, batch_size=args.batch_size,
        nprobe=args.nprobe, seed=args.seed, deterministic=args.deterministic,
        silence_gate_db=args.silence_gate_db,
    )
    result = infer(InferRun(model=args.model, inputs=args.input, output=args.output, index=args.index, config=cfg))
    for path in result.converted:
        print(path)
    for _, msg in result.failed:
        print(f"error: {msg}", file=sys.stderr)
    if result.failed:
        print(f"{len(result.failed)} of {len(result.failed) + len(result.converted)} file(s) failed", file=sys.stderr)
        return 1
    return 0
