"""Training data: filelist parsing, RVC alignment, collate, bucketed / sharded sampling, device cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _training_data import make_experiment
from arvc.data import BucketBatchSampler, CachedDataset, TrainingDataset, collate, read_filelist
from arvc.errors import ArvcError


def _dataset(root, **kw):
    return TrainingDataset(read_filelist(root / "filelist.txt"), sample_rate=40000, hop=400, spec_channels=1025,
                           content_dim=768, **kw)


def test_items_are_aligned_like_rvc(tmp_path):
    root = make_experiment(tmp_path / "exp", n_items=3, seconds=0.5)
    ds = _dataset(root)
    for i in range(len(ds)):
        item = ds[i]
        feat = np.load(ds.entries[i].feat)
        assert item.phone.shape[1] == 768
        frames = item.frames
        # features repeated x2, then everything cut to the shortest stream
        assert frames <= 2 * feat.shape[0]
        np.testing.assert_array_equal(item.phone[0].numpy(), feat[0])
        np.testing.assert_array_equal(item.phone[1].numpy(), feat[0])
        assert item.pitch.shape == (frames,) and item.pitch.dtype == torch.int64
        assert item.pitchf.shape == (frames,)
        assert item.spec.shape == (1025, frames)
        assert item.wav.shape == (frames * 400,)
    assert ds.lengths() == [min(2 * np.load(e.feat).shape[0], 900) for e in ds.entries]


def test_bad_inputs_name_the_file(tmp_path):
    root = make_experiment(tmp_path / "exp", n_items=2)
    ds = TrainingDataset(read_filelist(root / "filelist.txt"), sample_rate=40000, hop=400, spec_channels=1025,
                         content_dim=256)
    with pytest.raises(ArvcError, match="extracted"):
        ds[0]
    ds = TrainingDataset(read_filelist(root / "filelist.txt"), sample_rate=48000, hop=480, spec_channels=1025,
                         content_dim=768)
    with pytest.raises(ArvcError, match="40000 Hz"):
        ds[0]
    (root / "bad.txt").write_text("a|b\n")
    with pytest.raises(ArvcError, match="bad.txt:1"):
        read_filelist(root / "bad.txt")
    with pytest.raises(ArvcError, match="not found"):
        read_filelist(root / "missing.txt")


def test_collate_pads_and_sorts(tmp_path):
    root = make_experiment(tmp_path / "exp", n_items=3, seconds=0.4)
    ds = _dataset(root)
    items = [ds[i] for i in range(3)]
    batch = collate(items)
    lengths = sorted((it.frames for it in items), reverse=True)
    assert batch.phone_lengths.tolist() == lengths
    t = lengths[0]
    assert batch.phone.shape == (3, t, 768) and batch.spec.shape == (3, 1025, t)
    assert batch.pitch.shape == (3, t) and batch.wav.shape == (3, 1, t * 400)
    shortest = min(items, key=lambda it: it.frames)
    assert torch.equal(batch.spec[2, :, : shortest.frames], shortest.spec)
    assert batch.spec[2, :, shortest.frames:].abs().sum() == 0
    halves = batch.split(2)
    assert [b.size for b in halves] == [2, 1] and halves[1].pitch.shape == (1, t)


def test_bucket_sampler_groups_shuffles_and_shards():
    lengths = [50] * 5 + [150] * 7 + [950] * 3
    s = BucketBatchSampler(lengths, 2, seed=3)
    batches = list(s)
    assert sorted(i for b in batches for i in b) == list(range(15))
    bucket = lambda i: 0 if lengths[i] <= 100 else (1 if lengths[i] <= 200 else 9)  # noqa: E731
    assert all(len({bucket(i) for i in b}) == 1 for b in batches)
    assert len(s) == len(batches) == 3 + 4 + 2
    s.set_epoch(1)
    assert list(s) != batches  # reshuffled per epoch, deterministically
    s.set_epoch(0)
    assert list(s) == batches
    ranks = [list(BucketBatchSampler(lengths, 2, seed=3, num_replicas=2, rank=r)) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == 5
    covered = {i for r in ranks for b in r for i in b}
    assert covered == set(range(15))



@pytest.mark.parametrize("n_items,batch,replicas,group", [(15, 2, 2, 1), (15, 4, 4, 1), (23, 3, 8, 1), (9, 8, 3, 1),
                                                          (16, 2, 16, 1), (15, 2, 1, 4), (23, 2, 2, 3)])
def test_bucket_sampler_shards_each_item_once_per_epoch(n_items, batch, replicas, group):
    from collections import Counter

    lengths = [(50, 150, 950, 420)[i % 4] + i for i in range(n_items)]
    for epoch in (0, 1):
        ranks = []
        for r in range(replicas):
            s = BucketBatchSampler(lengths, batch, seed=7, num_replicas=replicas, rank=r, group=group)
            s.set_epoch(epoch)
            ranks.append(list(s))
            assert len(ranks[-1]) == len(s) and len(s) % group == 0  # same whole steps on every rank
        assert len({len(r) for r in ranks}) == 1
        seen = Counter(i for r in ranks for b in r for i in b)
        assert sorted(seen) == list(range(n_items)) and set(seen.values()) == {1}, (epoch, seen)
        assert all(0 < len(b) <= batch for r in ranks for b in r)


def test_bucket_sampler_repeats_only_when_items_run_out():
    ranks = [list(BucketBatchSampler([50, 60, 70], 4, seed=0, num_replicas=4, rank=r)) for r in range(4)]
    assert all(len(r) == 1 and len(r[0]) == 1 for r in ranks)
    assert {r[0][0] for r in ranks} == {0, 1, 2}  # 3 items on 4 ranks: one is seen twice

def test_cached_dataset_keeps_items(tmp_path):
    root = make_experiment(tmp_path / "exp", n_items=2)
    ds = _dataset(root)
    cached = CachedDataset(ds, "cpu")
    assert len(cached) == 2 and cached.lengths() == [ds[0].frames, ds[1].frames]
    assert torch.equal(cached[1].spec, ds[1].spec)
