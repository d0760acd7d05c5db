"""Narrow discriminators for ``--model_size tiny`` (tests) and ``small`` (quickstart on a CPU).

RVC's discriminator has a fixed width (~71 M parameters for v2) that dominates a small run on a CPU. These
subclasses keep the forward code and the period / resolution sets of :mod:`arvc.models.discriminators`,
with narrow convolutions (``TINY_WIDTHS`` / ``SMALL_WIDTHS`` instead of ``[1, 32, 128, 512, 1024, 1024]``).
Their state dicts do not fit RVC's pretrains.
"""

from __future__ import annotations

from torch import nn

from arvc.models.commons import weight_norm
from arvc.models.discriminators import (PERIODS, RESOLUTIONS, DiscriminatorP, DiscriminatorR, DiscriminatorS,
                                        MultiPeriodDiscriminator)

TINY_WIDTHS = (1, 8, 16, 32, 32, 32)
SMALL_WIDTHS = (1, 16, 32, 64, 128, 128)
WIDTHS = {"tiny": TINY_WIDTHS, "small": SMALL_WIDTHS}


class TinyDiscriminatorS(DiscriminatorS):
    def __init__(self, widths=TINY_WIDTHS):
        nn.Module.__init__(self)
        w = widths
        self.convs = nn.ModuleList([
            weight_norm(nn.Conv1d(w[0], w[1], 15, 1, padding=7)),
            weight_norm(nn.Conv1d(w[1], w[2], 41, 4, padding=20)),
            weight_norm(nn.Conv1d(w[2], w[3], 41, 4, padding=20)),
            weight_norm(nn.Conv1d(w[3], w[4], 5, 1, padding=2)),
        ])
        self.conv_post = weight_norm(nn.Conv1d(w[4], 1, 3, 1, padding=1))


class TinyMultiPeriodDiscriminator(MultiPeriodDiscriminator):
    """Same outputs as ``MultiPeriodDiscriminator(version)`` with the narrow ``widths`` in every sub-discriminator."""

    def __init__(self, version: str = "v2", checkpointing: bool = False, widths=TINY_WIDTHS):
        nn.Module.__init__(self)
        self.version = version
        self.periods = PERIODS[version]
        self.checkpointing = checkpointing
        self.discriminators = nn.ModuleList(
            [TinyDiscriminatorS(widths)] + [DiscriminatorP(p, widths=widths) for p in self.periods]
            + [DiscriminatorR(r) for r in RESOLUTIONS.get(version, [])])
