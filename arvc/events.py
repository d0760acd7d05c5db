"""The JSON-lines event stream: what a long command is doing, for programs (the web UI) rather than people.

``arvc <command> ... --events PATH`` (or ``--events fd:N``, an inherited file descriptor) writes one JSON object
per line. Every event has ``v`` (the schema version), ``time`` (Unix seconds) and ``type``:

==============  ==============================================================================================
``run_start``   ``command``, ``pid``, ``version``
``stage_start`` ``stage``
``stage_end``   ``stage``, ``ok`` (bool), ``seconds``
``progress``    ``stage``, ``done``, ``total`` (null when unknown), ``unit``, ``rate`` (units/s), ``eta`` (s or null)
``metrics``     ``stage``, ``step``, ``epoch`` (or null), ``values`` ({name: number}, e.g. ``loss/g/total``)
``epoch_end``   ``stage``, ``epoch``, ``step``, ``means`` (the epoch's mean of each loss)
``artifact``    ``kind`` (one of :data:`ARTIFACT_KINDS`), ``path`` and, where it applies, ``source``
``warning``     ``message`` (one line)
``error``       ``message`` (one line) and, when one input failed, ``file``
``run_end``     ``exit_code``, ``seconds``
==============  ==============================================================================================

Consumers ignore unknown types and fields; a field's meaning never changes within a version. The terminal
output is independent of this stream: its wording may change, the events' may not.

Without a sink every function here is a no-op costing one global lookup. Each event is written with one
``os.write`` of at most :data:`MAX_LINE` bytes, so lines from forked workers never interleave.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from arvc.errors import ArvcError

SCHEMA_VERSION = 1
MAX_LINE = 4000  # below PIPE_BUF (4096): one write is atomic on a pipe
ARTIFACT_KINDS = ("model", "index", "checkpoint", "audio", "features", "filelist", "plot", "report", "archive")
PROGRESS_INTERVAL = 0.5  # seconds between two progress events of one counter (the last one always goes out)

_sink: "EventSink | None" = None
F = TypeVar("F", bound=Callable[..., Any])


class EventSink:
    """Writes events to a file descriptor, one atomic write per line."""

    def __init__(self, fd: int, close: bool):
        self.fd, self._close = fd, close
        self._lock = threading.Lock()

    def write(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, ensure_ascii=False, allow_nan=False, default=str)
        data = line.encode("utf-8")
        if len(data) >= MAX_LINE:  # only free-text fields can be long: cut the message
            event = {**event, "message": str(event.get("message", ""))[:1000], "truncated": True}
            data = json.dumps(event, ensure_ascii=False, allow_nan=False, default=str).encode("utf-8")[:MAX_LINE - 1]
        with self._lock:
            try:
                os.write(self.fd, data + b"\n")
            except OSError:  # the reader went away: the command goes on without its stream
                pass

    def close(self) -> None:
        if self._close:
            with contextlib.suppress(OSError):
                os.close(self.fd)


def open_sink(target: str) -> EventSink:
    """``fd:N`` (an inherited descriptor, left open) or a file path (created or appended to)."""
    if target.startswith("fd:"):
        try:
            fd = int(target[3:])
            os.fstat(fd)
        except (ValueError, OSError) as e:
            raise ArvcError(f"--events {target}: not an open file descriptor ({e})") from None
        return EventSink(fd, close=False)
    path = Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as e:
        raise ArvcError(f"--events {target}: cannot write ({e.strerror or e})") from None
    return EventSink(fd, close=True)


def active() -> bool:
    return _sink is not None


def emit(type_: str, **fields: Any) -> None:
    """Write one event (nothing when no sink is open). Non-finite numbers are written as null."""
    sink = _sink
    if sink is None:
        return
    sink.write({"v": SCHEMA_VERSION, "time": round(time.time(), 3), "type": type_, **_finite(fields)})


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


class _WarningHandler(logging.Handler):
    """Forwards the ``arvc`` loggers' warnings and errors as events (their one-line message)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage().splitlines()[0] if record.getMessage() else ""
        except Exception:  # noqa: BLE001 - a bad log call must not break the command
            return
        file = getattr(record, "event_file", None)  # log.error(..., extra={"event_file": path}): one input failed
        emit("warning" if record.levelno < logging.ERROR else "error", message=message, logger=record.name,
             **({"file": str(file)} if file is not None else {}))


@contextlib.contextmanager
def run(command: str, target: str | None, version: str = "") -> Iterator[dict[str, int]]:
    """Open the sink for one command: ``run_start`` now, ``run_end`` with the exit code the caller stores in the
    yielded dict (``result["exit_code"]``). Without ``target`` nothing is written."""
    global _sink
    result = {"exit_code": 1}
    if not target:
        yield result
        return
    sink = open_sink(target)
    handler = _WarningHandler(level=logging.WARNING)
    logger = logging.getLogger("arvc")
    previous, _sink = _sink, sink
    logger.addHandler(handler)
    t0 = time.monotonic()
    emit("run_start", command=command, pid=os.getpid(), version=version)
    try:
        yield result
    finally:
        emit("run_end", exit_code=int(result["exit_code"]), seconds=round(time.monotonic() - t0, 3))
        logger.removeHandler(handler)
        _sink = previous
        sink.close()


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """``stage_start`` / ``stage_end`` around a block (``ok`` false when it raised)."""
    emit("stage_start", stage=name)
    t0, ok = time.monotonic(), False
    try:
        yield
        ok = True
    finally:
        emit("stage_end", stage=name, ok=ok, seconds=round(time.monotonic() - t0, 3))


def staged(name: str) -> Callable[[F], F]:
    """Decorator: the function's call is the stage ``name`` (``stage_start`` / ``stage_end``)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            with stage(name):
                return fn(*args, **kwargs)

        return inner  # type: ignore[return-value]

    return wrap


def artifact(kind: str, path: str | os.PathLike, **extra: Any) -> None:
    if kind not in ARTIFACT_KINDS:
        raise ValueError(f"unknown artifact kind {kind!r}")
    emit("artifact", kind=kind, path=str(Path(path).resolve()), **extra)


def metrics(stage_name: str, step: int, values: dict[str, float], epoch: int | None = None) -> None:
    emit("metrics", stage=stage_name, step=int(step), epoch=epoch,
         values={k: float(v) for k, v in values.items()})


def error(message: str, file: str | os.PathLike | None = None) -> None:
    emit("error", message=message, **({"file": str(file)} if file is not None else {}))


def warning(message: str) -> None:
    emit("warning", message=message)


class Progress:
    """A counter that reports ``progress`` events: at most one per :data:`PROGRESS_INTERVAL`, plus the first and
    the last. ``rate`` counts the units done since this counter started (a resumed run's earlier work excluded)."""

    def __init__(self, stage_name: str, total: int | None = None, unit: str = "it", initial: int = 0):
        self.stage, self.total, self.unit = stage_name, total, unit
        self.done = self.start = initial
        self.t0 = time.monotonic()
        self._last = -math.inf

    def update(self, n: int = 1) -> None:
        self.set(self.done + n)

    def set(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        now = time.monotonic()
        finished = self.total is not None and done >= self.total
        if _sink is None or (now - self._last < PROGRESS_INTERVAL and not finished):
            return
        self._last = now
        elapsed = now - self.t0
        rate = (done - self.start) / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if (self.total is not None and rate > 0) else None
        emit("progress", stage=self.stage, done=done, total=self.total, unit=self.unit, rate=round(rate, 4),
             eta=None if eta is None else round(max(eta, 0.0), 2))
