"""Fitting weights from a file to a module: names mapped to the module's weight-norm convention, what is missing,
unexpected or of another shape (named in one line), then a strict load that keeps the module's dtypes.

Every strict load of arvc goes through here: inference models, training checkpoints, pretrains, the shape check
before allocation (:func:`fit_shapes` with the shapes of a ``meta``-device build)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from arvc.formats.naming import to_module_names


@dataclass
class StateFit:
    """``state``: the file's tensors under the module's names; ``wrong``: ``(name, file shape, module shape)``."""

    state: "OrderedDict[str, object]"
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    wrong: list[tuple[str, tuple, tuple]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.wrong)

    def summary(self, shape_note: str = "") -> str:
        """``"3 missing (e.g. a); 1 with other shapes (e.g. b (2,) vs (3,))"``."""
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} missing (e.g. {self.missing[0]})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected (e.g. {self.unexpected[0]})")
        if self.wrong:
            k, theirs, ours = self.wrong[0]
            parts.append(f"{len(self.wrong)} with other shapes (e.g. {k} {theirs} vs {ours}{shape_note})")
        return "; ".join(parts)


def fit_shapes(weights: Mapping[str, object], shapes: Mapping[str, tuple], allow_shape: Iterable[str] = ()) -> StateFit:
    """Compare ``weights`` (either naming) with a module's ``{name: shape}``; names in ``allow_shape`` may differ
    in shape (e.g. a pretrain's speaker table)."""
    allowed = set(allow_shape)
    state = to_module_names(weights, shapes.keys())
    return StateFit(
        state,
        missing=[k for k in shapes if k not in state],
        unexpected=[k for k in state if k not in shapes],
        wrong=[(k, tuple(state[k].shape), tuple(shapes[k])) for k in shapes
               if k in state and tuple(state[k].shape) != tuple(shapes[k]) and k not in allowed],
    )


def fit_state(net, weights: Mapping[str, object], allow_shape: Iterable[str] = ()) -> StateFit:
    """:func:`fit_shapes` against ``net``'s own state dict."""
    return fit_shapes(weights, {k: tuple(v.shape) for k, v in net.state_dict().items()}, allow_shape)


def assign_state(net, state: Mapping[str, object]) -> None:
    """Strictly load ``state`` (module names) into ``net``, each tensor cast to the module's dtype."""
    import torch

    own = net.state_dict()
    with torch.no_grad():
        net.load_state_dict(OrderedDict((k, v.to(own[k].dtype)) for k, v in state.items()), strict=True)
