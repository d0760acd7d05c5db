"""Content features of the realtime window, reused across blocks: the embedder sees a bounded input per block.

The block loop's window holds ``context`` of earlier audio so that the prior and flow have left context. Those
earlier frames' features were computed by earlier blocks; only the newest frames (the ones the vocoder returns, its
margin and the frame over the reflect pad) need this block's audio. :class:`ContentCache` keeps the window's
20 ms feature frames keyed by their absolute frame number and runs the embedder on ``fresh + context`` frames only;
when the cache does not hold the older frames (the first block, after silence-gated blocks, after a reset) it embeds
the whole window, which is also what ``context_frames=None`` always does (no reuse).
"""

from __future__ import annotations

import numpy as np
import torch

from arvc.features.embedders.base import HOP, n_frames


class ContentCache:
    """(blended, raw) 50 frames/s features of the window, reused from block to block.

    vc: the :class:`~arvc.inference.pipeline.VoiceConverter` (its ``content_features``).
    fresh_frames: 20 ms frames at the window's end recomputed every block.
    context_frames: 20 ms frames of left context the embedder sees before them; None = embed the whole window.
    """

    def __init__(self, vc, fresh_frames: int, context_frames: int | None):
        self.vc, self.fresh, self.context = vc, int(fresh_frames), context_frames
        self.embedded_samples = 0  # 16 kHz samples the embedder saw in the last call
        self.reset()

    def reset(self) -> None:
        self.k0 = 0
        self.feats = self.feats0 = None

    def _cached(self, k0: int, k1: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Cached rows of absolute frames ``[k0, k1)``, or None when the cache does not hold them all."""
        if self.feats is None or k0 < self.k0 or k1 > self.k0 + len(self.feats):
            return None
        a, b = k0 - self.k0, k1 - self.k0
        return self.feats[a:b], self.feats0[a:b]

    def features(self, audio: np.ndarray, k0: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Features of every 20 ms frame of ``audio`` (float32 (N,), 16 kHz, starting at absolute frame ``k0``,
        i.e. sample ``k0 · 320`` of the stream): ((T, C), (T, C)) with ``T = n_frames(N)``."""
        n = n_frames(len(audio))
        fresh_start = k0 + max(n - self.fresh, 0)
        embed_start = k0 if self.context is None else max(fresh_start - self.context, k0)
        old = self._cached(k0, fresh_start) if embed_start > k0 else None
        if old is None:
            embed_start = fresh_start = k0
        seg = audio[(embed_start - k0) * HOP :]
        self.embedded_samples = len(seg)
        feats, feats0 = self.vc.content_features(seg)
        if old is not None:
            cut = fresh_start - embed_start
            feats = torch.cat([old[0], feats[cut:]])
            feats0 = torch.cat([old[1], feats0[cut:]])
        self.k0, self.feats, self.feats0 = k0, feats, feats0
        return feats, feats0
