"""Progress bars for long work (tqdm) on a terminal. When output goes to a file or CI the bar is off (its
carriage-return redraws would pile up on one line); the stages log a line per file set / epoch instead.

Every bar also feeds the event stream (:mod:`arvc.events`) a ``progress`` event, whether it is drawn or not, so
a program reading ``--events`` sees the same counts a person sees on the terminal."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

from arvc import events


class _EventBar(tqdm):
    """A tqdm bar whose counts also go to the event stream (also when the bar itself is disabled)."""

    def __init__(self, *args, stage: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.events = events.Progress(stage, kwargs.get("total"), kwargs.get("unit", "it"), kwargs.get("initial", 0))
        self.events.set(self.events.done)

    def update(self, n: float | None = 1):
        self.events.update(int(n or 0))
        return super().update(n)

    def reset(self, total: float | None = None):
        self.events.done = self.events.start = 0
        self.events.total = None if total is None else int(total)
        return super().reset(total=total)


def progress_bar(*, total: int | None = None, desc: str | None = None, unit: str = "it", disable: bool = False,
                 stage: str | None = None, **kwargs) -> tqdm:
    """A tqdm bar on stderr, redrawn at most every 0.2 s; disabled when stderr is not a terminal. Its counts go to
    the event stream as ``progress`` of ``stage`` (default: ``desc``)."""
    kwargs.setdefault("mininterval", 0.2)
    kwargs.setdefault("dynamic_ncols", True)
    return _EventBar(total=total, desc=desc, unit=unit, disable=disable or not sys.stderr.isatty(),
                     stage=stage or desc or unit, **kwargs)
