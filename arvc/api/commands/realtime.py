"""``arvc realtime -m model.pth [--index ...]``: microphone in, converted voice out (or ``--simulate IN OUT``).

The flags are the ``REALTIME`` table of :mod:`arvc.api.options` (the web UI's Realtime tab shows the same).
"""

from __future__ import annotations

import argparse

from arvc.api.options import REALTIME


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
                       report_every=args.report_every, **callbacks)


def remote(args: argparse.Namespace) -> int:
    """``--connect URL --simulate IN OUT``: the file through a remote ``arvc ui`` server's ``/api/ws-audio``
    (:mod:`arvc.api.ws_client`); ``-m``/``--index`` name the server's files."""
    import dataclasses
    import os

    from arvc.api.ws_client import stream
    from arvc.api.ws_protocol import CLIENT_OPTIONS, STREAM_RATE
    from arvc.audio.io import load_audio, save_audio
    from arvc.errors import ArvcError
    from arvc.inference.realtime_config import RealtimeConfig
    from arvc.stages.realtime import latency_line

    if not args.connect.startswith(("ws://", "wss://")):
        raise ArvcError(f"--connect {args.connect}: expected a ws:// or wss:// URL (ws://host:7865/api/ws-audio)")
    if not args.simulate:
        raise ArvcError("--connect streams a file: give --simulate IN OUT (live devices stay local)")
    if not args.model:
        raise ArvcError("-m/--model is required: a voice of the server (its name, or its path there)")
    src, dst = args.simulate
    if not os.path.isfile(src):
        raise ArvcError(f"{src}: file not found")
    cfg = RealtimeConfig.from_flat(REALTIME.config_kwargs(args)).validate()
    flat = {**dataclasses.asdict(cfg.inference), **dataclasses.asdict(cfg)}
    options = {k: flat[k] for k in CLIENT_OPTIONS if k != "sample_rate" and flat.get(k) is not None}
    rate = cfg.sample_rate or STREAM_RATE
    result = stream(args.connect, args.model, load_audio(src, rate), index=args.index, options=options,
                    sample_rate=rate, auth=args.connect_auth, pace=args.pace)
    rtt = sorted(result.rtt_ms)
    print(latency_line(cfg, result.ready.get("resampling_ms", 0.0)) + f"; network round trip "
          f"{rtt[len(rtt) // 2]:.1f} ms (median of {len(rtt)} pings)", flush=True)
    save_audio(dst, result.output, result.sample_rate)
    s = result.stats
    print(f"summary: blocks {s.get('blocks')} ({s.get('silent')} silent), compute p50 {s.get('p50_ms', 0):.0f} ms "
          f"p95 {s.get('p95_ms', 0):.0f} ms max {s.get('max_ms', 0):.0f} ms of {s.get('block_ms', 0):.0f} ms on the "
          f"server, late {s.get('late')}, underruns {s.get('underruns')}", flush=True)
    print(dst)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list_devices:
        from arvc.inference.audio_devices import list_devices

        print(list_devices())
        return 0
    if args.connect:
        return remote(args)
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
