"""Training data: the dataset over extracted files, length-bucketed batches, collate, device cache."""

from arvc.data.collate import Batch, collate
from arvc.data.dataset import CachedDataset, FileEntry, Item, TrainingDataset, read_filelist
from arvc.data.sampler import BucketBatchSampler

__all__ = ["Batch", "BucketBatchSampler", "CachedDataset", "FileEntry", "Item", "TrainingDataset", "collate",
           "read_filelist"]
