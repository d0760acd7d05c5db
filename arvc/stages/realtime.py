"""Stage: realtime conversion (``arvc realtime``): live devices, or a file streamed through the same block loop."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Callable

from arvc.inference.realtime import RealtimeConfig, StreamStats

log = logging.getLogger(__name__)


@dataclass
class RealtimeRun:
    """One ``arvc realtime`` call. ``simulate=(input, output)`` streams a file instead of the devices;
    ``pace`` is ``realtime`` (a clock plays the device) or ``fast``; ``seconds`` stops a live run (None = Ctrl-C)."""

    model: str | os.PathLike
    index: str | os.PathLike | None = None
    config: RealtimeConfig = field(default_factory=RealtimeConfig)
    simulate: tuple[str, str] | None = None
    pace: str = "realtime"
    input_device: str | None = None
    output_device: str | None = None
    seconds: float | None = None
    report_every: float = 5.0
    on_start: Callable[[str], None] | None = None
    on_report: Callable[[StreamStats], None] | None = None


def latency_line(cfg: RealtimeConfig, resampling_ms: float = 0.0, live: bool = False) -> str:
    line = (f"algorithmic latency {cfg.algorithmic_latency_ms} ms (block {cfg.block_ms} + crossfade {cfg.crossfade_ms}"
            f" + search {cfg.search_ms}) + resampling {resampling_ms:.0f} ms; context {cfg.context_ms} ms adds compute only")
    if live:
        line += f"; the live stream adds {cfg.headroom_ms} ms headroom and the device buffers"
    return line


def _converter(run: RealtimeRun):
    from arvc.inference.pipeline import VoiceConverter
    from arvc.inference.realtime import BlockConverter

    vc = VoiceConverter(run.model, run.index, run.config.inference)
    return BlockConverter(vc, run.config)


def realtime(run: RealtimeRun) -> StreamStats:
    """Run the block loop until the file ends (simulate), ``seconds`` pass or Ctrl-C; returns the stats.

    Ctrl-C stops the stream cleanly and still returns the stats.
    """
    run.config.validate()
    if run.pace not in ("realtime", "fast"):
        from arvc.errors import ArvcError

        raise ArvcError(f"--pace {run.pace!r}: choices are realtime, fast")
    if run.simulate:
        return _simulate(run)
    return _live(run)


def _simulate(run: RealtimeRun) -> StreamStats:
    from arvc.audio.io import load_audio, save_audio
    from arvc.inference.realtime import simulate

    src, dst = run.simulate
    if not os.path.isfile(src):
        from arvc.errors import ArvcError

        raise ArvcError(f"{src}: file not found")
    conv = _converter(run)
    audio = load_audio(src, conv.cfg.sample_rate)
    if run.on_start:
        run.on_start(latency_line(run.config, conv.resampling_ms))
    try:
        result = simulate(conv, audio, pace=run.pace, on_report=run.on_report, report_every=run.report_every)
    except KeyboardInterrupt:
        log.warning("interrupted: %s not written", dst)
        return conv.stats
    save_audio(dst, result.output, result.sample_rate)
    return result.stats


def _live(run: RealtimeRun) -> StreamStats:
    from arvc.inference.audio_devices import open_stream, resolve_device
    from arvc.inference.realtime import StreamRunner

    if not run.config.sample_rate:
        run.config.sample_rate = 48000
    resolve_device(run.input_device, "input")  # device problems are reported before the model loads
    resolve_device(run.output_device, "output")
    conv = _converter(run)
    conv.warm_up()
    runner = StreamRunner(conv)
    stream = open_stream(run.input_device, run.output_device, run.config.sample_rate,
                         run.config.sample_rate // 50, runner.callback)
    if run.on_start:
        run.on_start(latency_line(run.config, conv.resampling_ms, live=True) + f"; device latency {stream.latency}")
    runner.start()
    t0 = last = time.monotonic()
    try:
        with stream:
            while run.seconds is None or time.monotonic() - t0 < run.seconds:
                time.sleep(0.1)
                if runner.error is not None:
                    raise runner.error
                if run.on_report and time.monotonic() - last >= run.report_every:
                    run.on_report(conv.stats)
                    last = time.monotonic()
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
    return conv.stats
