"""Progress bars for long work (tqdm) on a terminal. When output goes to a file or CI the bar is off (its
carriage-return redraws would pile up on one line); the stages log a line per file set / epoch instead."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def progress_bar(*, total: int | None = None, desc: str | None = None, unit: str = "it", disable: bool = False,
                 **kwargs) -> tqdm:
    """A tqdm bar on stderr, redrawn at most every 0.2 s; disabled when stderr is not a terminal."""
    kwargs.setdefault("mininterval", 0.2)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(total=total, desc=desc, unit=unit, disable=disable or not sys.stderr.isatty(), **kwargs)
