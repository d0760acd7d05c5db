"""The web UI's realtime session: one ``arvc realtime`` run (live or a simulated file) in a background thread.

The stage function (:func:`arvc.stages.realtime.realtime`) runs in the server process, so its statistics
arrive through its callbacks (a :class:`StatsSnapshot` every second), not by reading a log. One session runs
at a time; :meth:`RealtimeSession.stop` sets the run's stop event and waits for the stream to close.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from arvc.errors import ArvcError

REPORT_EVERY = 1.0  # seconds between statistics snapshots


class RealtimeSession:
    """Start, stop and watch one realtime run; the methods are safe to call from any request thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None
        self.state = "idle"  # idle, starting, running, stopping, done, stopped, failed
        self.title = ""
        self.latency = ""
        self.stats: Any = None  # StatsSnapshot of the stage's StreamStats
        self.error: str | None = None
        self.output: str | None = None  # the simulated file, once written
        self.started: float | None = None
        self.ended: float | None = None

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self, run, title: str) -> None:
        """Check ``run`` (a :class:`~arvc.stages.realtime.RealtimeRun`) and start it in a thread.

        Raises :class:`ArvcError` when a session is running or the setup is bad (no model, bad device, ...);
        the model loads in the thread."""
        from arvc.stages.realtime import check, latency_line

        with self._lock:
            if self.running:
                raise ArvcError(f"a realtime session is already running ({self.title}); stop it first")
            check(run)
            stop = threading.Event()
            run.stop, run.report_every = stop, REPORT_EVERY
            run.on_start = self._on_start
            run.on_report = self._on_report
            self._stop, self.title, self.state = stop, title, "starting"
            self.latency = latency_line(run.config)
            self.stats = self.error = self.output = None
            self.started, self.ended = time.time(), None
            self._thread = threading.Thread(target=self._run, args=(run,), daemon=True, name="arvc-ui-realtime")
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> bool:
        """Ask the run to stop and wait up to ``timeout`` s for its stream to close; False if none was running
        (or it is still loading its model when the time is up)."""
        thread, stop = self._thread, self._stop
        if thread is None or not thread.is_alive() or stop is None:
            return False
        self.state = "stopping"
        stop.set()
        thread.join(timeout)
        return not thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the run to end by itself (e.g. a simulated file); True when it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    # ---------------------------------------------------------------------------------------- thread
    def _on_start(self, line: str) -> None:
        self.latency = line
        self.state = "running" if not (self._stop and self._stop.is_set()) else "stopping"

    def _on_report(self, stats) -> None:
        self.stats = stats.snapshot()

    def _run(self, run) -> None:
        from arvc.stages.realtime import realtime

        try:
            stats = realtime(run)
            self.stats = stats.snapshot()
            if run.stopped():
                self.state = "stopped"
            else:
                self.state = "done"
                if run.simulate:
                    self.output = str(run.simulate[1])
        except ArvcError as e:
            self.error, self.state = str(e), "failed"
        except Exception as e:  # shown in the tab as one line; the server keeps running
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            self.error, self.state = f"{type(e).__name__}: {first}" if first else type(e).__name__, "failed"
        finally:
            self.ended = time.time()

    # ------------------------------------------------------------------------------------------ view
    def status(self) -> str:
        """Markdown: state, the latency, and the compute statistics (p50/p95 per block, underruns)."""
        if self.state == "idle":
            return "not running"
        took = f", {(self.ended or time.time()) - (self.started or time.time()):.0f} s" if self.started else ""
        lines = [f"**{self.state}**: {self.title}{took}"]
        if self.error:
            lines.append(f"error: {self.error}")
        if self.latency:
            lines.append(self.latency)
        s = self.stats
        if s is not None:
            lines.append(f"blocks {s.blocks} ({s.silent} silent); compute per block p50 {s.p50_ms:.0f} ms, "
                         f"p95 {s.p95_ms:.0f} ms, max {s.max_ms:.0f} ms of {s.block_ms:.0f} ms; late {s.late}; "
                         f"underruns {s.underruns}" + (f"; dropped {s.dropped}" if s.dropped else ""))
        elif self.state in ("starting", "running"):
            lines.append("loading the model ..." if self.state == "starting" else "waiting for the first report ...")
        if self.state == "stopped" and self.title.startswith("simulate"):
            lines.append("stopped before the end of the file: no output written")
        return "\n\n".join(lines)
