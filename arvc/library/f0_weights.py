"""Where the downloadable pitch-network weights come from and where they live (``<models>/f0/``).

RMVPE has its own entry in :mod:`arvc.stages.library` (it is fetched by default); the networks here are
fetched on first use or by ``arvc prerequisites --f0_weights NAME``. A file that is present is used as is;
a missing one is downloaded through :func:`arvc.library.download.download` (atomic rename into place,
sha256 of the hub's LFS entry checked), and when that is impossible the error is one line naming the file,
where to get it and ``arvc prerequisites``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arvc.errors import ArvcError
from arvc.library.models_dir import f0_root

HF = "https://huggingface.co"


@dataclass(frozen=True)
class F0Weights:
    """One downloadable weights file of an F0 method."""

    method: str
    filename: str  # name in <models>/f0/
    url: str
    source: str  # shown to users: where the file is published
    licence: str

    def local(self) -> Path:
        return f0_root() / self.filename

    def present(self) -> Path | None:
        return self.local() if self.local().is_file() else None

    def fetch(self, progress=None, show_bar: bool = True) -> Path:
        from arvc.library.download import download

        return download(self.url, self.local(), progress=progress, show_bar=show_bar)

    def hint(self) -> str:
        return (f"run `arvc prerequisites --f0_weights {self.method}`, or download {self.url} "
                f"and put it at {self.local()}")


F0_WEIGHTS: dict[str, F0Weights] = {
    "penn": F0Weights("penn", "fcnf0++.pt", f"{HF}/maxrmorrison/fcnf0-plus-plus/resolve/main/fcnf0++.pt",
                      "maxrmorrison/fcnf0-plus-plus (PENN's FCNF0++)",
                      "penn's code is MIT; for the weights' terms see the hub page"),
    "djcm": F0Weights("djcm", "djcm.pt", f"{HF}/AnhP/Vietnamese-RVC-Project/resolve/main/predictors/djcm.pt",
                      "AnhP/Vietnamese-RVC-Project predictors/djcm.pt",
                      "unclear: Vietnamese-RVC's code is MIT; no licence found for these weights"),
}


def f0_weights_path(method: str, path: str | Path | None = None, download: bool = True) -> Path:
    """``path`` if given (must exist), else ``<models>/f0/<file>``, downloaded when missing and ``download``."""
    entry = F0_WEIGHTS[method]
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ArvcError(f"{method} weights {p} not found")
        return p
    local = entry.present()
    if local is not None:
        return local
    if not download:
        raise ArvcError(f"{method} weights missing: {entry.hint()}")
    try:
        return entry.fetch(show_bar=False)
    except ArvcError as e:
        raise ArvcError(f"{method} weights missing and download failed ({e}): {entry.hint()}") from None
