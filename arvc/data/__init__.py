"""Training data: the dataset over extracted files, length-bucketed batches, collate, device cache."""

from arvc.data.collate import Batch, collate
from arvc.data.dataset import CachedDataset, Item, TrainingDataset
from arvc.data.sampler import BucketBatchSampler
from arvc.experiment import FileEntry, read_filelist

__all__ = ["Batch", "BucketBatchSampler", "CachedDataset", "FileEntry", "Item", "TrainingDataset", "collate",
           "read_filelist"]
