"""Retrieval: replace each content frame by a distance-weighted mix of its nearest training frames."""

from __future__ import annotations

import os

import numpy as np

from arvc.errors import ArvcError
from arvc.index.io import get_nprobe, read_index, set_nprobe

TOP_K = 8


class IndexRetriever:
    """A loaded index plus its reconstructed vectors, ready for ``blend``.

    ``nprobe`` None keeps the value stored in the file (Applio's indexes store 1, arvc's 9).
    """

    def __init__(self, index, nprobe: int | None = None):
        if index.ntotal == 0:
            raise ArvcError("the retrieval index is empty")
        self.index = index
        if nprobe is not None:
            set_nprobe(index, nprobe)
        self.vectors = index.reconstruct_n(0, index.ntotal).astype(np.float32)  # (ntotal, D)

    @classmethod
    def load(cls, path: str | os.PathLike, nprobe: int | None = None) -> "IndexRetriever":
        return cls(read_index(path), nprobe=nprobe)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @property
    def nprobe(self) -> int | None:
        return get_nprobe(self.index)

    def search(self, feats: np.ndarray, k: int = TOP_K) -> tuple[np.ndarray, np.ndarray]:
        """(T, D) -> squared-L2 scores (T, k) and ids (T, k); missing neighbours have id -1."""
        x = np.ascontiguousarray(feats, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ArvcError(f"index holds {self.dim}-dim vectors but the embedder gives {x.shape[-1]}-dim features")
        return self.index.search(x, min(k, self.index.ntotal))

    def retrieve(self, feats: np.ndarray, k: int = TOP_K) -> np.ndarray:
        """(T, D) -> (T, D): Σ w·neighbour with ``w = (1/score)² / Σ(1/score)²`` over the top ``k``."""
        score, ids = self.search(feats, k)
        return weighted_neighbours(self.vectors, score, ids)

    def blend(self, feats: np.ndarray, rate: float, k: int = TOP_K) -> np.ndarray:
        """``retrieved · rate + feats · (1 − rate)`` for (T, D) float32 feats (RVC's index_rate)."""
        if rate <= 0:
            return feats
        x = np.asarray(feats, dtype=np.float32)
        return (self.retrieve(x, k) * rate + (1 - rate) * x).astype(np.float32)


def weighted_neighbours(vectors: np.ndarray, score: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Inverse-squared-distance mix of ``vectors[ids]``: (T, k) scores/ids -> (T, D) float32."""
    valid = ids >= 0
    s = np.maximum(score.astype(np.float32), np.float32(1e-12))
    weight = np.where(valid, np.square(np.float32(1) / s), np.float32(0)).astype(np.float32)
    total = weight.sum(axis=1, keepdims=True)
    weight = weight / np.where(total > 0, total, np.float32(1))
    return np.sum(vectors[np.where(valid, ids, 0)] * weight[:, :, None], axis=1).astype(np.float32)
