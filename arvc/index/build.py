"""Build the retrieval index: FAISS ``IVF<n>,Flat`` over the training set's content features.

As Applio's ``extract_index.py``: per-chunk features (``extracted/*.npy``, sorted by name) are
concatenated, optionally reduced to 10,000 k-means centroids, shuffled with a seeded RNG, and
indexed with ``nlist = min(int(16 * sqrt(N)), N // 39)`` lists (at least 1, so a one-chunk
dataset still gets a working index). arvc stores ``nprobe = 9`` in the file; the search can
override it.

At scale (more than ``load_limit`` vectors) nothing is concatenated: :func:`build_index_from_files` reads the
files' shapes, trains k-means or the IVF quantizer on a seeded uniform sample of ``39 x lists`` vectors (at
most ``train_cap``, at least one per list) and adds the vectors file by file in batches, so the build's memory is the sample plus the
index itself; the stored ``nprobe`` grows with the list count (:func:`nprobe_for`).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arvc.errors import ArvcError

log = logging.getLogger(__name__)

ALGORITHMS = ("Auto", "Faiss", "KMeans")
KMEANS_THRESHOLD = 200_000  # Auto switches to k-means reduction above this many vectors (Applio's 2e5)
KMEANS_CENTROIDS = 10_000
DEFAULT_NPROBE = 9
ADD_BATCH = 8192
LOAD_LIMIT = 262_144  # above this many vectors (768 MB at 768-d) the build streams the files instead of loading them
TRAIN_PER_LIST = 39  # IVF / k-means training sample: this many vectors per list or centroid (FAISS' minimum) ...
TRAIN_CAP = 1_000_000  # ... and at most this many (3 GB at 768-d)


@dataclass
class IndexBuildConfig:
    """How to build an index from an (N, D) feature matrix."""

    algorithm: str = "Auto"  # Auto | Faiss | KMeans
    nprobe: int = DEFAULT_NPROBE
    seed: int = 20240
    kmeans_centroids: int = KMEANS_CENTROIDS
    kmeans_threshold: int = KMEANS_THRESHOLD
    load_limit: int = LOAD_LIMIT
    train_cap: int = TRAIN_CAP


def nlist_for(n: int) -> int:
    """Number of IVF lists for ``n`` vectors: ``max(1, min(int(16 sqrt(n)), n // 39))``."""
    return max(1, min(int(16 * math.sqrt(max(n, 0))), n // 39))


def _feature_files(folder: str | os.PathLike) -> list[Path]:
    """The ``*.npy`` files of a feature folder, sorted; ArvcError when the folder is missing or has none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArvcError(f"{folder}: feature folder not found (run extract first)")
    files = sorted(p for p in folder.iterdir() if p.suffix == ".npy" and not p.name.startswith("."))
    if not files:
        raise ArvcError(f"{folder}: no .npy feature files (run extract first)")
    return files


def _open_features(f: Path, dim: int | None, width: int | None, first: Path, mmap: bool = False) -> np.ndarray:
    """One feature file (memory-mapped when ``mmap``), checked: a non-empty (frames, dim) array whose width is
    the model's ``dim`` and the ``width`` of the files before it (``first`` names them)."""
    try:
        a = np.load(f, mmap_mode="r" if mmap else None, allow_pickle=False)
    except Exception as e:  # noqa: BLE001
        raise ArvcError(f"{f}: unreadable feature file ({type(e).__name__}: {e})") from e
    if a.ndim != 2 or a.shape[0] == 0:
        raise ArvcError(f"{f}: expected a (frames, dim) feature array, got shape {a.shape}")
    if dim is not None and a.shape[1] != dim:
        raise ArvcError(f"{f}: feature dim {a.shape[1]} does not match the model's {dim}")
    if width is not None and a.shape[1] != width:
        raise ArvcError(f"{f}: feature dim {a.shape[1]} differs from {first.name}'s {width}")
    return a


def load_feature_folder(folder: str | os.PathLike, dim: int | None = None) -> np.ndarray:
    """Concatenate every ``*.npy`` in ``folder`` (sorted names) into one float32 (N, D) matrix."""
    files = _feature_files(folder)
    arrays = []
    for f in files:
        a = _open_features(f, dim, arrays[0].shape[1] if arrays else None, files[0])
        arrays.append(a.astype(np.float32, copy=False))
    return np.ascontiguousarray(np.concatenate(arrays, axis=0), dtype=np.float32)


def kmeans_reduce(features: np.ndarray, n_centroids: int = KMEANS_CENTROIDS, seed: int = 0) -> np.ndarray:
    """(N, D) -> (n_centroids, D) MiniBatchKMeans centroids (float32)."""
    from sklearn.cluster import MiniBatchKMeans

    km = MiniBatchKMeans(
        n_clusters=n_centroids,
        batch_size=256 * (os.cpu_count() or 1),
        compute_labels=False,
        init="random",
        n_init=1,
        random_state=seed,
    )
    return km.fit(features).cluster_centers_.astype(np.float32)


def build_index(features: np.ndarray, config: IndexBuildConfig | None = None):
    """Build and return a trained, filled ``faiss.IndexIVFFlat`` over ``features`` (N, D) float32."""
    import faiss

    cfg = config or IndexBuildConfig()
    if cfg.algorithm not in ALGORITHMS:
        raise ArvcError(f"--algorithm {cfg.algorithm!r}: choices are {', '.join(ALGORITHMS)}")
    x = np.ascontiguousarray(features, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ArvcError(f"cannot build an index from features of shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ArvcError("features contain NaN or infinite values; re-run extract")
    use_kmeans = (cfg.algorithm == "KMeans" and x.shape[0] > cfg.kmeans_centroids) or (
        cfg.algorithm == "Auto" and x.shape[0] > cfg.kmeans_threshold
    )
    if use_kmeans:
        log.info("reducing %d vectors to %d k-means centroids", x.shape[0], cfg.kmeans_centroids)
        x = kmeans_reduce(x, cfg.kmeans_centroids, cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    x = x[rng.permutation(x.shape[0])]
    n, dim = x.shape
    nlist = nlist_for(n)
    index = faiss.index_factory(dim, f"IVF{nlist},Flat")
    ivf = faiss.extract_index_ivf(index)
    ivf.cp.seed = int(cfg.seed) % (2**31)
    ivf.cp.min_points_per_centroid = 1  # one short file is a valid dataset; silence faiss' warning
    index.train(x)
    for i in range(0, n, ADD_BATCH):
        index.add(x[i : i + ADD_BATCH])
    ivf.nprobe = int(max(1, cfg.nprobe))
    log.info("index IVF%d,Flat: %d vectors x %d, nprobe %d", nlist, n, dim, ivf.nprobe)
    return index


def nprobe_for(nlist: int, floor: int = DEFAULT_NPROBE) -> int:
    """Lists a search visits: ``max(floor, round(sqrt(nlist) / 2))`` (9 up to 324 lists, 63 for 1 M vectors)."""
    return max(int(floor), int(round(math.sqrt(max(nlist, 1)) / 2)))


@dataclass
class FeatureFiles:
    """The ``*.npy`` feature files of a folder and their row counts, read from the headers only."""

    files: list[Path]
    rows: list[int]
    dim: int

    @property
    def total(self) -> int:
        return int(sum(self.rows))

    def batches(self, size: int = ADD_BATCH):
        """(<= size, D) float32 batches over every row, in file order; each batch checked finite."""
        for f in self.files:
            a = np.load(f, mmap_mode="r", allow_pickle=False)
            for i in range(0, a.shape[0], size):
                x = np.ascontiguousarray(a[i : i + size], dtype=np.float32)
                if not np.all(np.isfinite(x)):
                    raise ArvcError(f"{f}: features contain NaN or infinite values; re-run extract")
                yield x

    def sample(self, n: int, seed: int) -> np.ndarray:
        """(min(n, total), D) float32: a seeded uniform sample of rows without replacement, gathered file by file."""
        n = min(n, self.total)
        picked = np.sort(np.random.default_rng(seed).choice(self.total, size=n, replace=False))
        out = np.empty((n, self.dim), dtype=np.float32)
        start, k = 0, 0
        for f, rows in zip(self.files, self.rows):
            hi = np.searchsorted(picked, start + rows)
            if hi > k:
                out[k:hi] = np.load(f, mmap_mode="r", allow_pickle=False)[picked[k:hi] - start]
                k = hi
            start += rows
        if not np.all(np.isfinite(out)):
            raise ArvcError("features contain NaN or infinite values; re-run extract")
        return out


def scan_feature_folder(folder: str | os.PathLike, dim: int | None = None) -> FeatureFiles:
    """Every ``*.npy`` of ``folder`` (sorted names) with its row count, checked like :func:`load_feature_folder`
    but without reading the data."""
    files = _feature_files(folder)
    rows, width = [], None
    for f in files:
        a = _open_features(f, dim, width, files[0], mmap=True)
        width = a.shape[1]
        rows.append(int(a.shape[0]))
    return FeatureFiles(files, rows, int(width))


def build_index_from_files(src: FeatureFiles, config: IndexBuildConfig | None = None):
    """The index of every row of ``src``: :func:`build_index` on the loaded matrix up to ``load_limit`` rows;
    above it the streamed build of the module docstring (k-means on a sample, or an IVF trained on a sample
    and filled batch by batch)."""
    cfg = config or IndexBuildConfig()
    if cfg.algorithm not in ALGORITHMS:
        raise ArvcError(f"--algorithm {cfg.algorithm!r}: choices are {', '.join(ALGORITHMS)}")
    n = src.total
    if n <= cfg.load_limit:
        return build_index(load_feature_folder(src.files[0].parent, src.dim), cfg)
    reduce = (cfg.algorithm == "KMeans" and n > cfg.kmeans_centroids) or (
        cfg.algorithm == "Auto" and n > cfg.kmeans_threshold)
    if reduce:
        sample = src.sample(max(cfg.kmeans_centroids, min(cfg.train_cap, TRAIN_PER_LIST * cfg.kmeans_centroids)),
                            cfg.seed)
        log.info("reducing %d vectors to %d k-means centroids (trained on %d sampled vectors)", n,
                 cfg.kmeans_centroids, len(sample))
        return build_index(kmeans_reduce(sample, cfg.kmeans_centroids, cfg.seed), cfg)
    import faiss

    nlist = nlist_for(n)
    index = faiss.index_factory(src.dim, f"IVF{nlist},Flat")
    ivf = faiss.extract_index_ivf(index)
    ivf.cp.seed = int(cfg.seed) % (2**31)
    ivf.cp.min_points_per_centroid = 1
    sample = src.sample(max(nlist, min(cfg.train_cap, TRAIN_PER_LIST * nlist)), cfg.seed)
    index.train(sample)
    del sample
    for x in src.batches(ADD_BATCH):
        index.add(x)
    ivf.nprobe = nprobe_for(nlist, cfg.nprobe)
    log.info("index IVF%d,Flat: %d vectors x %d (streamed), nprobe %d", nlist, n, src.dim, ivf.nprobe)
    return index
