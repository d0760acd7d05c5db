"""Stage: realtime conversion (``arvc realtime``): live devices, or a file streamed through the same block loop."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from arvc.errors import ArvcError
from arvc.inference.audio_devices import DeviceChoices, device_choices, resolve_device
from arvc.inference.realtime_config import RealtimeConfig, StreamStats

__all__ = ["DeviceChoices", "RealtimeRun", "check", "device_choices", "latency_line", "open_converter", "realtime"]

log = logging.getLogger(__name__)


@dataclass
class RealtimeRun:
    """One ``arvc realtime`` call. ``simulate=(input, output)`` streams a file instead of the devices;
    ``pace`` is ``realtime`` (a clock plays the device) or ``fast``; ``seconds`` stops a live run (None = Ctrl-C).
    Setting ``stop`` (from another thread) ends the run cleanly, as Ctrl-C does; ``on_report`` gets the live
    :class:`StreamStats` every ``report_every`` seconds (take ``stats.snapshot()`` to keep the figures)."""

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
    stop: threading.Event | None = None

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()


def latency_line(cfg: RealtimeConfig, resampling_ms: float = 0.0, live: bool = False) -> str:
    line = (f"algorithmic latency {cfg.algorithmic_latency_ms} ms (block {cfg.block_ms} + crossfade {cfg.crossfade_ms}"
            f" + search {cfg.search_ms}) + resampling {resampling_ms:.0f} ms; context {cfg.context_ms} ms adds compute only")
    if live:
        line += f"; the live stream adds {cfg.headroom_ms} ms headroom and the device buffers"
    return line


def open_converter(run: RealtimeRun):
    """The :class:`~arvc.inference.realtime.BlockConverter` of ``run`` (an RVC or so-vits-svc voice): loads the
    model (call on the thread that will convert, see :class:`~arvc.inference.realtime_stream.StreamRunner`). The
    web UI's WebSocket sessions (:mod:`arvc.ui.ws_audio`) drive it block by block."""
    from arvc.inference.realtime import BlockConverter
    from arvc.inference.sovits import open_converter as open_voice

    vc = open_voice(run.model, run.index, run.config.inference)
    return BlockConverter(vc, run.config)


def check(run: RealtimeRun) -> None:
    """What can be checked before the model loads (settings, files, devices); raises :class:`ArvcError`."""
    run.config.validate()
    if run.pace not in ("realtime", "fast"):
        raise ArvcError(f"--pace {run.pace!r}: choices are realtime, fast")
    from arvc.library.models_dir import resolve_model_arg
    from arvc.library.voice_kind import is_sovits_voice

    model = resolve_model_arg(run.model)[0] if run.model else None
    if model is None or not (model.is_file() or is_sovits_voice(model, run.config.inference.svc_config)):
        raise ArvcError(f"{run.model}: model file not found")
    if run.index and not os.path.isfile(run.index):
        raise ArvcError(f"{run.index}: index file not found")
    if run.simulate:
        if not os.path.isfile(run.simulate[0]):
            raise ArvcError(f"{run.simulate[0]}: file not found")
    else:
        resolve_device(run.input_device, "input")
        resolve_device(run.output_device, "output")


def realtime(run: RealtimeRun) -> StreamStats:
    """Run the block loop until the file ends (simulate), ``seconds`` pass, ``stop`` is set or Ctrl-C;
    returns the stats.

    Ctrl-C (or ``stop``) ends the stream cleanly and still returns the stats.
    """
    check(run)
    if run.simulate:
        return _simulate(run)
    return _live(run)


def _simulate(run: RealtimeRun) -> StreamStats:
    from arvc.audio.io import load_audio, save_audio
    from arvc.inference.realtime_stream import simulate

    src, dst = run.simulate
    conv = open_converter(run)
    audio = load_audio(src, conv.cfg.sample_rate)
    if run.on_start:
        run.on_start(latency_line(run.config, conv.resampling_ms))
    try:
        result = simulate(conv, audio, pace=run.pace, on_report=run.on_report, report_every=run.report_every,
                          stop=run.stop)
    except KeyboardInterrupt:
        log.warning("interrupted: %s not written", dst)
        return conv.stats
    if result.stopped:
        log.warning("stopped: %s not written", dst)
        return result.stats
    save_audio(dst, result.output, result.sample_rate)
    return result.stats


def _live(run: RealtimeRun) -> StreamStats:
    from arvc.inference.audio_devices import open_stream
    from arvc.inference.realtime_stream import StreamRunner

    if not run.config.sample_rate:
        run.config.sample_rate = 48000
    conv = open_converter(run)  # device problems were reported by check() before the model loads
    conv.warm_up()  # logs when a block cannot keep up
    runner = StreamRunner(conv)
    stream = open_stream(run.input_device, run.output_device, run.config.sample_rate,
                         run.config.sample_rate // 50, runner.callback)
    if run.on_start:
        run.on_start(latency_line(run.config, conv.resampling_ms, live=True) + f"; device latency {stream.latency}")
    t0 = last = time.monotonic()
    ctrl_c = threading.Event()

    def should_stop() -> bool:
        return (ctrl_c.is_set() or run.stopped()
                or (run.seconds is not None and time.monotonic() - t0 >= run.seconds))

    def tick() -> None:
        nonlocal last
        if run.on_report and time.monotonic() - last >= run.report_every:
            run.on_report(conv.stats)
            last = time.monotonic()

    try:
        with _ctrl_c_sets(ctrl_c), stream:  # the device thread only queues and plays; conversion stays here
            runner.work(should_stop=should_stop, tick=tick)
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
    return conv.stats


@contextmanager
def _ctrl_c_sets(flag: threading.Event) -> Iterator[None]:
    """While streaming on the main thread, Ctrl-C (SIGINT) sets ``flag`` whatever handler the host process left
    installed (a library's event loop, an ignore); the previous handler comes back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda *_: flag.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
