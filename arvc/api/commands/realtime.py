"""``arvc realtime -m model.pth [--index ...]``: microphone in, converted voice out (or ``--simulate IN OUT``)."""

from __future__ import annotations

import argparse

from arvc.api.argtypes import add_bool


def add_arguments(parser: argparse.ArgumentParser) -> None:
    p = parser
    p.add_argument("-m", "--model", default=None, help="voice model (.pth, RVC/Applio inference format)")
    p.add_argument("--index", default=None, help="retrieval index (.index); omit to skip retrieval")
    add_bool(p, "--list_devices", False, "print the audio devices and exit")
    p.add_argument("--input_device", default=None, help="input device index or name (default: the system's)")
    p.add_argument("--output_device", default=None, help="output device index or name (default: the system's)")
    p.add_argument("--sample_rate", type=int, default=0,
                   help="stream rate in Hz (default: 48000 live, the model's rate with --simulate)")
    p.add_argument("--simulate", nargs=2, metavar=("IN", "OUT"), default=None,
                   help="stream the file IN through the same block loop and write OUT (no sound card needed)")
    p.add_argument("--pace", choices=("realtime", "fast"), default="realtime",
                   help="--simulate speed: realtime (a clock plays the device; underruns are real) or fast")
    p.add_argument("--seconds", type=float, default=None, help="stop a live stream after this long (default: Ctrl-C)")
    p.add_argument("--block_ms", type=int, default=250, help="input block per conversion step, ms (default 250)")
    p.add_argument("--context_ms", type=int, default=1000,
                   help="earlier audio the embedder and prior see each step, ms (default 1000; more = better, slower)")
    p.add_argument("--crossfade_ms", type=int, default=50, help="SOLA crossfade between blocks, ms (default 50; 0 = off)")
    p.add_argument("--silence_db", type=float, default=-60.0,
                   help="blocks quieter than this (dBFS RMS) skip the model and output silence (default -60)")
    p.add_argument("--headroom_ms", type=int, default=100,
                   help="live output buffered ahead for compute jitter, ms (default 100; raise it on underruns)")
    p.add_argument("--report_every", type=float, default=5.0, help="seconds between statistics lines (default 5)")
    p.add_argument("--pitch", type=float, default=0.0, help="transpose in semitones (+12 = one octave up)")
    p.add_argument("--f0_method", default="fcpe", help="pitch estimator; fast ones first: fcpe (default), rmvpe, swift, pm")
    p.add_argument("--index_rate", type=float, default=0.75, help="0..1 share of each feature frame taken from the index")
    p.add_argument("--protect", type=float, default=0.5, help="0..0.5 consonant protection (0.5 = off)")
    p.add_argument("--rms_mix_rate", "--volume_envelope", dest="rms_mix_rate", type=float, default=1.0,
                   help="0..1: 1 keeps the model's loudness, 0 follows the input's")
    p.add_argument("--speaker_id", "--sid", dest="speaker_id", type=int, default=0, help="speaker row of multi-speaker models")
    p.add_argument("--embedder_model", default=None, help="content embedder (default: the model's, else contentvec)")
    p.add_argument("--embedder_path", default=None, help="local embedder folder (for --embedder_model custom)")
    p.add_argument("--precision", choices=("auto", "fp32", "fp16", "bf16"), default="auto",
                   help="compute precision (default auto, see arvc.device.resolve_precision)")
    p.add_argument("--gpu", default=None, help="GPU id; default: first accelerator, else CPU")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    add_bool(p, "--deterministic", False, "no random noise (prior mean, noiseless NSF source)")


def run(args: argparse.Namespace) -> int:
    import os

    from arvc.errors import ArvcError

    if args.list_devices:
        from arvc.inference.audio_devices import list_devices

        print(list_devices())
        return 0
    if not args.model:
        raise ArvcError("-m/--model is required (or use --list_devices)")
    if not os.path.isfile(args.model):
        raise ArvcError(f"{args.model}: model file not found")
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "256")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from arvc.inference.config import InferenceConfig
    from arvc.inference.realtime import RealtimeConfig
    from arvc.stages.realtime import RealtimeRun, realtime

    inf = InferenceConfig(pitch=args.pitch, f0_method=args.f0_method, index_rate=args.index_rate, protect=args.protect,
                          rms_mix_rate=args.rms_mix_rate, speaker_id=args.speaker_id, embedder_model=args.embedder_model,
                          embedder_path=args.embedder_path, precision=args.precision, gpu=args.gpu,
                          deterministic=args.deterministic)
    cfg = RealtimeConfig(block_ms=args.block_ms, context_ms=args.context_ms, crossfade_ms=args.crossfade_ms,
                         silence_db=args.silence_db, headroom_ms=args.headroom_ms, sample_rate=args.sample_rate,
                         inference=inf)
    rt = RealtimeRun(model=args.model, index=args.index, config=cfg,
                     simulate=tuple(args.simulate) if args.simulate else None, pace=args.pace,
                     input_device=args.input_device, output_device=args.output_device, seconds=args.seconds,
                     report_every=args.report_every,
                     on_start=lambda line: print(line, flush=True),
                     on_report=lambda stats: print(stats.summary(), flush=True))
    stats = realtime(rt)
    print("summary: " + stats.summary(), flush=True)
    if args.simulate:
        print(args.simulate[1])
    return 0
