"""The stream side of the realtime loop: :class:`StreamRunner` between an audio device and a
:class:`~arvc.inference.realtime.BlockConverter`, and :func:`simulate`, which streams a file through it
(as fast as possible, or in real time with a clock thread standing in for the device)."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from arvc.constants import SR_16K
from arvc.errors import ArvcError
from arvc.inference.realtime import BlockConverter
from arvc.inference.realtime_config import StreamStats

_IDLE = object()  # StreamRunner.work: no input arrived within the poll interval


# ------------------------------------------------------------------------------------------------ runner
class StreamRunner:
    """Keeps conversion off the audio thread: ``callback(indata) -> outdata`` (same length) queues input and
    returns at once; :meth:`work` runs :meth:`BlockConverter.process` on the queued input, and output leaves
    through a FIFO that starts ``headroom_ms`` behind. When the FIFO runs dry the block is an underrun: what
    is left fades out and the stream resumes (fading in) with the next converted block; the device never
    waits and nothing raises on the audio thread.

    Call :meth:`work` on the thread that loaded the model and ran the warm-up. torch's OpenMP pool belongs to
    the thread that first used it: a second thread doing torch work gets a second pool, the pools together
    have more threads than CPUs, and libgomp then stops spinning between parallel regions. Measured on
    2 vCPUs: the full v2 40k decoder took 390 ms per block on the loading thread, 460-500 ms on another.
    """

    FADE_MS = 5

    def __init__(self, conv: BlockConverter):
        self.conv = conv
        sr = conv.cfg.sample_rate
        self.headroom = conv.cfg.headroom_ms * sr // 1000
        self.fade = max(1, self.FADE_MS * sr // 1000)
        self.inq: queue.Queue = queue.Queue(maxsize=256)  # input chunks waiting (a few seconds)
        self.lock = threading.Lock()
        self.fifo = np.zeros(0, np.float32)
        self.playing = False
        self.last = 0.0
        self.lead_in = 0  # samples emitted before the first converted block played
        self.started = False
        self.stop_event = threading.Event()

    def stop(self) -> None:
        """End :meth:`work` (from any thread)."""
        self.stop_event.set()
        try:
            self.inq.put_nowait(None)
        except queue.Full:
            pass

    def work(self, should_stop: Callable[[], bool] | None = None, tick: Callable[[], None] | None = None,
             poll: float = 0.1) -> None:
        """Convert queued input until :meth:`stop` or ``should_stop()``; ``tick()`` runs at least every
        ``poll`` seconds (reports). Errors of the conversion propagate to the caller."""
        while not self.stop_event.is_set() and not (should_stop is not None and should_stop()):
            try:
                x = self.inq.get(timeout=poll)
            except queue.Empty:
                x = _IDLE
            if x is None:
                return
            if tick is not None:
                tick()
            if x is not _IDLE:
                self._push(self.conv.process(x))

    def _push(self, y: np.ndarray) -> None:
        with self.lock:
            if not self.playing and len(y):
                y = np.concatenate([np.zeros(self.headroom, np.float32), y])
                y[self.headroom : self.headroom + self.fade] *= np.linspace(0, 1, self.fade, dtype=np.float32)[: len(y) - self.headroom]
                self.playing = True
            self.fifo = np.concatenate([self.fifo, y])

    def callback(self, indata: np.ndarray) -> np.ndarray:
        """Called on the audio thread with (n,) input; returns (n,) output immediately."""
        try:
            self.inq.put_nowait(np.array(indata, dtype=np.float32, copy=True))
        except queue.Full:
            self.conv.stats.dropped += 1
        n = len(indata)
        with self.lock:
            if not self.playing:
                if not self.started:
                    self.lead_in += n
                return np.zeros(n, np.float32)
            self.started = True
            take = self.fifo[:n]
            self.fifo = self.fifo[n:]
            if len(take) == n:
                self.last = float(take[-1]) if n else self.last
                return take
            self.conv.stats.underruns += 1
            self.playing = False
        out = np.zeros(n, np.float32)
        out[: len(take)] = take
        k = min(self.fade, n - len(take))
        tail = float(take[-1]) if len(take) else self.last
        out[len(take) : len(take) + k] = tail * np.linspace(1, 0, k, dtype=np.float32)
        self.last = 0.0
        return out


# ------------------------------------------------------------------------------------------ simulation
@dataclass
class SimulationResult:
    output: np.ndarray  # stream-rate float32, aligned to the input (nominal delay removed)
    sample_rate: int
    stats: StreamStats
    wall_seconds: float
    stopped: bool = False  # ``stop`` was set before the end: ``output`` is the part converted so far


def simulate(conv: BlockConverter, audio: np.ndarray, *, pace: str = "fast", period_ms: int = 10,
             on_report=None, report_every: float = 5.0, stop: threading.Event | None = None) -> SimulationResult:
    """Stream ``audio`` (stream rate, (N,)) through the block loop.

    ``pace="fast"``: blocks back to back (late = steps whose compute exceeded a block).
    ``pace="realtime"``: a clock thread plays the device, calling :meth:`StreamRunner.callback` every
    ``period_ms`` in real time, so underruns are real. The output is aligned to the input by removing
    the loop's nominal delay (plus, in realtime pace, the headroom) and cut to the input length.
    Setting ``stop`` (from another thread) ends the stream early (``stopped`` in the result).
    """
    sr = conv.cfg.sample_rate
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    if pace == "realtime":
        conv.warm_up()
    t_start = time.perf_counter()
    last_report = t_start
    stopped = False

    def tick() -> None:
        nonlocal last_report
        if on_report and time.perf_counter() - last_report > report_every:
            on_report(conv.stats)
            last_report = time.perf_counter()

    if pace == "fast":
        io_block = conv.b16 * sr // SR_16K
        parts = []
        for a in range(0, len(x), io_block):
            if stop is not None and stop.is_set():
                stopped = True
                break
            parts.append(conv.process(x[a : a + io_block]))
            tick()
        if not stopped:
            parts.append(conv.flush())
        y = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        delay = conv.delay_samples
    elif pace == "realtime":
        runner = StreamRunner(conv)
        period = period_ms * sr // 1000
        tail = (conv.b16 + conv.cf16 + conv.s16) * sr // SR_16K + runner.headroom + 2 * conv.b16 * sr // SR_16K
        src = np.concatenate([x, np.zeros(tail, np.float32)])
        parts: list[np.ndarray] = []
        ended = threading.Event()  # the clock played all of ``src``

        def play() -> None:  # the device: no torch here (see StreamRunner)
            t0 = time.perf_counter()
            for k, a in enumerate(range(0, len(src), period)):
                if runner.stop_event.is_set():
                    return
                wait = t0 + k * period / sr - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                parts.append(runner.callback(src[a : a + period]))
            ended.set()
            runner.stop()

        clock = threading.Thread(target=play, name="arvc-realtime-clock", daemon=True)
        clock.start()
        try:
            runner.work(should_stop=lambda: stop is not None and stop.is_set(), tick=tick, poll=0.05)
        finally:
            runner.stop()
            clock.join()
        stopped = not ended.is_set()
        y = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        # output of the first block starts playing after lead_in silent samples and the headroom
        delay = runner.lead_in + runner.headroom + conv.delay_samples
    else:
        raise ArvcError(f"--pace {pace!r}: choices are realtime, fast")
    y = y[delay : delay + len(x)]
    return SimulationResult(y.astype(np.float32), sr, conv.stats, time.perf_counter() - t_start, stopped)

