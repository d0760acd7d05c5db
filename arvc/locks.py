"""One writer per experiment folder: a lock file ``<logs>/<model>/.arvc.lock`` holding the owner's PID and stage.

The lock is an ``flock`` on that file (the kernel drops it when the process dies, even by SIGKILL); the PID
inside names the owner in the error a second run gets, and a PID left by a dead process is reported as a
stale lock taken over. Where ``fcntl`` is missing (Windows) the PID alone decides: a live PID holds the lock.
Re-entrant within one process (quickstart runs the stages one after another under one name).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
from pathlib import Path
from typing import Callable, Iterator

from arvc.errors import ArvcError

log = logging.getLogger(__name__)

LOCK_NAME = ".arvc.lock"
_held: dict[Path, int] = {}  # lock path -> nesting depth in this process

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def pid_alive(pid: int) -> bool:
    """True when a process with this PID exists (ours or another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _read_owner(path: Path) -> tuple[int, str]:
    """(pid, stage) written in a lock file; (0, "") when unreadable."""
    try:
        fields = path.read_text(encoding="utf-8").split()
        return int(fields[0]), (fields[1] if len(fields) > 1 else "?")
    except (OSError, ValueError, IndexError):
        return 0, ""


def experiment_busy(root: str | os.PathLike) -> str | None:
    """The stage of the live process holding experiment folder ``root`` (``"train"``...), else None. Reads the
    lock file only (never takes the lock); a lock left by a dead process on this machine is not busy."""
    path = Path(root) / LOCK_NAME
    try:
        fields = path.read_text(encoding="utf-8").split()
    except OSError:
        return None
    try:
        pid, stage, host = int(fields[0]), (fields[1] if len(fields) > 1 else "?"), " ".join(fields[2:])
    except (ValueError, IndexError):
        return None
    if host and host != socket.gethostname():
        return stage  # another machine's process: cannot tell, so busy
    return stage if pid_alive(pid) else None


def _busy(root: Path, pid: int, stage: str) -> ArvcError:
    return ArvcError(f"{root} is in use by `arvc {stage}` (PID {pid}, lock file {root / LOCK_NAME}); "
                     f"wait for it to finish or stop it")


def _acquire_flock(path: Path, root: Path) -> int:
    """Open and flock ``path``; returns the fd. Retries when the file was replaced under us."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid, stage = _read_owner(path)
            raise _busy(root, pid, stage) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the previous owner removed the file between our open and flock


def _acquire_pid_only(path: Path, root: Path) -> int:
    pid, stage = _read_owner(path)
    if path.exists() and pid != os.getpid() and pid_alive(pid):
        raise _busy(root, pid, stage)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


@contextlib.contextmanager
def experiment_lock(root: str | os.PathLike, stage: str, name: str = LOCK_NAME) -> Iterator[Path]:
    """Hold the lock of experiment folder ``root`` while ``stage`` writes it. Raises ArvcError when another
    live process holds it. Folders this call had to create are removed again if they are left empty.
    ``name``: another lock file of the folder (one per shard of ``arvc extract --shard``)."""
    root = Path(root)
    path = (root / name).absolute()
    if path in _held:
        _held[path] += 1
        try:
            yield path
        finally:
            _held[path] -= 1
        return
    created = [p for p in (root, *root.parents) if not p.exists()]
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = _acquire_flock(path, root) if fcntl is not None else _acquire_pid_only(path, root)
    except OSError as e:
        _remove_empty(created)
        raise ArvcError(f"cannot write the experiment folder {root}: {e.strerror or e}") from None
    except ArvcError:
        _remove_empty(created)
        raise
    old_pid, old_stage = _read_owner(path)
    if old_pid and old_pid != os.getpid():
        log.warning("taking over the stale lock of `arvc %s` (PID %d, no longer running) on %s", old_stage, old_pid,
                    root)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {stage} {socket.gethostname()}\n".encode(), 0)
    except OSError as e:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)
        _remove_empty(created)
        raise ArvcError(f"cannot write {path}: {e.strerror or e}") from None
    _held[path] = 1
    try:
        yield path
    finally:
        del _held[path]
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)
        _remove_empty(created)


def shard_lock_name(index: int, count: int) -> str:
    """The lock file of part ``index`` of ``count`` of a sharded stage."""
    return f".arvc.shard-{index}-of-{count}.lock"


def held_locks(root: str | os.PathLike, pattern: str = LOCK_NAME) -> list[tuple[Path, int, str]]:
    """The lock files under ``root`` matching ``pattern`` that a live process holds: (path, pid, stage)."""
    found = []
    for path in sorted(Path(root).glob(pattern)):
        if path.absolute() in _held:
            continue
        pid, stage = _read_owner(path)
        if fcntl is None:
            busy = pid_alive(pid)
        else:
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                busy = False
            except BlockingIOError:
                busy = True
            finally:
                os.close(fd)
        if busy:
            found.append((path, pid, stage))
    return found


def _remove_empty(folders: list[Path]) -> None:
    for p in folders:  # innermost first
        try:
            p.rmdir()
        except OSError:
            break


def locks_experiment(stage: str, create: bool = False) -> Callable:
    """Decorator for a stage function ``f(cfg, ...)`` whose cfg has ``model_name`` and ``logs_dir``: run it
    holding the experiment's lock. Under ``torch.distributed`` only rank 0 takes it. Without ``create`` a
    missing experiment folder is not made for the lock (the stage reports it missing)."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def locked(cfg, *args, **kwargs):
            from arvc.paths import ExperimentPaths

            paths = ExperimentPaths.of(cfg.model_name, cfg.logs_dir)
            if os.environ.get("RANK", "0") != "0" or (not create and not paths.root.is_dir()):
                return fn(cfg, *args, **kwargs)
            with experiment_lock(paths.root, stage):
                return fn(cfg, *args, **kwargs)

        return locked

    return wrap
