"""Progress bars for long work (tqdm): live on a terminal, a line every 30 s when output goes to a file or CI."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

LOG_INTERVAL_S = 30.0


def progress_bar(*, total: int | None = None, desc: str | None = None, unit: str = "it", disable: bool = False,
                 **kwargs) -> tqdm:
    """A tqdm bar on stderr; redraws at most every 0.2 s on a terminal and every 30 s otherwise."""
    interactive = sys.stderr.isatty()
    kwargs.setdefault("mininterval", 0.2 if interactive else LOG_INTERVAL_S)
    kwargs.setdefault("dynamic_ncols", interactive)
    return tqdm(total=total, desc=desc, unit=unit, disable=disable, **kwargs)
