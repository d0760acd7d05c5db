"""``arvc realtime -m model.pth [--index ...]``: microphone in, converted voice out (or ``--simulate IN OUT``).

The flags are the ``REALTIME`` table of :mod:`arvc.api.options` (the web UI's Realtime tab shows the same).
"""

from __future__ import annotations

import argparse

from arvc.api.options import REALTIME


def add_arguments(parser: argparse.ArgumentParser) -> None:
    REALTIME.add_arguments(parser)


def run_from_args(args: argparse.Namespace, **callbacks):
    """The :class:`~arvc.stages.realtime.RealtimeRun` of parsed flags (shared with the web UI); ``callbacks``
    are RealtimeRun's ``on_start``, ``on_report`` and ``stop``."""
    import os

    from arvc.errors import ArvcError
    from arvc.inference.realtime_config import RealtimeConfig
    from arvc.stages.realtime import RealtimeRun

    if not args.model:
        raise ArvcError("-m/--model is required (or use --list_devices)")
    # before torch loads: see arvc.api.commands.infer
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "256")
    cfg = RealtimeConfig.from_flat(REALTIME.config_kwargs(args))
    return RealtimeRun(model=args.model, index=args.index, config=cfg,
                       simulate=tuple(args.simulate) if args.simulate else None, pace=args.pace,
                       input_device=args.input_device, output_device=args.output_device, seconds=args.seconds,
                       report_every=args.report_every, connect=args.connect, connect_auth=args.connect_auth,
                       **callbacks)


def run(args: argparse.Namespace) -> int:
    if args.list_devices:
        from arvc.inference.audio_devices import list_devices

        print(list_devices())
        return 0
    rt = run_from_args(args, on_start=lambda line: print(line, flush=True),
                       on_report=lambda stats: print(stats.summary(), flush=True))
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from arvc.stages.realtime import realtime

    stats = realtime(rt)
    print("summary: " + stats.summary(), flush=True)
    if args.simulate:
        print(args.simulate[1])
    return 0
