"""Length-bucketed batch sampler (shard-aware for multi-process training)."""

from __future__ import annotations

import random
from typing import Iterator, Sequence

import torch

DEFAULT_BOUNDARIES = (100, 200, 300, 400, 500, 600, 700, 800, 900)  # frames, as RVC's buckets


class BucketBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of indices whose items fall in the same length bucket.

    Every epoch (``set_epoch``) reshuffles inside buckets and the batch order with ``seed + epoch``.
    With ``num_replicas > 1`` each rank takes every ``num_replicas``-th batch. Every rank must take the same
    number of steps of ``group`` batches (gradient accumulation), so when the batch count is not a multiple of
    ``num_replicas x group`` the largest batches are halved until it is: each item is still seen exactly once
    per epoch. Only when there are fewer items than that needs (e.g. 3 items on 4 ranks) are batches repeated.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, *, boundaries: Sequence[int] = DEFAULT_BOUNDARIES,
                 shuffle: bool = True, seed: int = 0, num_replicas: int = 1, rank: int = 0, drop_last: bool = False,
                 group: int = 1):
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.boundaries = sorted(boundaries)
        self.shuffle = shuffle
        self.seed = seed
        self.num_replicas = num_replicas
        self.group = max(1, group)
        self.rank = rank
        self.drop_last = drop_last
        self.epoch = 0
        self.buckets = self._bucketize()

    def _bucketize(self) -> list[list[int]]:
        buckets: dict[int, list[int]] = {}
        for i, n in enumerate(self.lengths):
            b = next((k for k, edge in enumerate(self.boundaries) if n <= edge), len(self.boundaries))
            buckets.setdefault(b, []).append(i)
        return [buckets[k] for k in sorted(buckets)]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _all_batches(self) -> list[list[int]]:
        rng = random.Random(self.seed + self.epoch)
        batches: list[list[int]] = []
        for bucket in self.buckets:
            idx = list(bucket)
            if self.shuffle:
                rng.shuffle(idx)
            for s in range(0, len(idx), self.batch_size):
                chunk = idx[s : s + self.batch_size]
                if len(chunk) < self.batch_size and self.drop_last:
                    continue
                batches.append(chunk)
        if self.shuffle:
            rng.shuffle(batches)
        if self.num_replicas * self.group > 1 and batches:
            batches = _even_out(batches, self.num_replicas * self.group)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._all_batches()
        return iter(batches[self.rank :: self.num_replicas])

    def __len__(self) -> int:
        n = sum((len(b) // self.batch_size) if self.drop_last else -(-len(b) // self.batch_size) for b in self.buckets)
        if self.num_replicas * self.group > 1 and n:
            n = -(-n // (self.num_replicas * self.group)) * self.num_replicas * self.group
        return n // self.num_replicas


def _even_out(batches: list[list[int]], replicas: int) -> list[list[int]]:
    """Split the largest batches in two (in place in the order) until the count is a multiple of ``replicas``;
    repeat batches only when every batch is down to one item."""
    batches = list(batches)
    while len(batches) % replicas:
        k = max(range(len(batches)), key=lambda i: len(batches[i]))
        big = batches[k]
        if len(big) < 2:
            pad = (-len(batches)) % replicas
            return batches + [batches[i % len(batches)] for i in range(pad)]
        batches[k : k + 1] = [big[: len(big) // 2], big[len(big) // 2 :]]
    return batches
