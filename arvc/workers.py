"""Worker processes that never outlive the run that started them.

Call :func:`die_with_parent` first thing in a pool initializer. On Linux the kernel sends the worker SIGKILL
when its parent dies (``prctl(PR_SET_PDEATHSIG)``); everywhere a daemon thread also checks once a second
that the parent is still there and ends the worker when it is not (a parent killed with SIGKILL cannot
clean up its pool, so without this the workers keep running as orphans).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 1.0


def _parent_pid() -> int | None:
    import multiprocessing

    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None else None


def _set_pdeathsig() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while True:
        time.sleep(POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


def die_with_parent() -> None:
    """Make this (multiprocessing child) process end when its parent ends. No-op in the main process."""
    parent = _parent_pid()
    if parent is None:
        return
    _set_pdeathsig()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="arvc-parent-watch", daemon=True).start()
