"""create-index and retrieval: nlist rule, tiny and large datasets, nprobe storage, blending, the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from arvc.api.cli import main as cli_main
from arvc.errors import ArvcError
from arvc.index import (
    IndexBuildConfig, IndexRetriever, build_index, get_nprobe, nlist_for, read_index, weighted_neighbours, write_index,
)
from arvc.paths import ExperimentPaths


def _write_chunks(model: str, sizes: list[int], dim: int = 768, seed: int = 0) -> ExperimentPaths:
    paths = ExperimentPaths.of(model)
    paths.features.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i, n in enumerate(sizes):
        np.save(paths.features / f"0_{i}_0.wav.npy", rng.standard_normal((n, dim)).astype(np.float32))
    return paths


def test_nlist_rule():
    assert nlist_for(1) == 1
    assert nlist_for(38) == 1
    assert nlist_for(78) == 2
    assert nlist_for(6117) == 156  # Applio's fixture index is IVF156
    assert nlist_for(1_000_000) == 16000
    assert nlist_for(200_000) == 200_000 // 39


@pytest.mark.parametrize("sizes", [[1], [38], [3] * 13, [150] * 40])
def test_create_index_cli_sizes(sizes, capsys):
    paths = _write_chunks("m", sizes, dim=768)
    assert cli_main(["create-index", "m", "--version", "v2", "--algorithm", "Auto"]) == 0
    index = read_index(paths.index)
    n = sum(sizes)
    assert index.ntotal == n
    assert index.nlist == nlist_for(n)
    assert get_nprobe(index) == 9
    feats = np.concatenate([np.load(p) for p in sorted(paths.features.glob("*.npy"))])
    r = IndexRetriever(index)
    score, ids = r.search(feats[:5])
    assert ids.shape == (min(5, n), min(8, n))
    # every stored vector finds itself (exact with nprobe = nlist)
    r2 = IndexRetriever(read_index(paths.index), nprobe=index.nlist)
    score, ids = r2.search(feats[:20])
    assert np.allclose(score[:, 0], 0, atol=1e-3)
    assert np.allclose(r2.vectors[ids[:, 0]], feats[:20])


def test_retrieval_blend_math():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((300, 16)).astype(np.float32)
    index = build_index(base, IndexBuildConfig(algorithm="Faiss"))
    r = IndexRetriever(index, nprobe=index.nlist)  # exhaustive: compare with brute force
    q = rng.standard_normal((7, 16)).astype(np.float32)
    d = ((q[:, None, :] - r.vectors[None]) ** 2).sum(-1)
    top = np.argsort(d, axis=1)[:, :8]
    w = 1 / np.take_along_axis(d, top, 1) ** 2
    w /= w.sum(1, keepdims=True)
    expected = (r.vectors[top] * w[:, :, None]).sum(1)
    np.testing.assert_allclose(r.retrieve(q), expected, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(r.blend(q, 0.25), 0.25 * expected + 0.75 * q, rtol=1e-3, atol=1e-4)
    assert r.blend(q, 0.0) is q


def test_missing_neighbours_get_zero_weight():
    vecs = np.eye(3, dtype=np.float32)
    score = np.array([[0.5, 3.4e38, 3.4e38]], dtype=np.float32)
    ids = np.array([[1, -1, -1]])
    np.testing.assert_allclose(weighted_neighbours(vecs, score, ids), vecs[[1]])


def test_kmeans_reduces_and_nprobe_override(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((600, 8)).astype(np.float32)
    index = build_index(x, IndexBuildConfig(algorithm="KMeans", kmeans_centroids=100, nprobe=3))
    assert index.ntotal == 100 and get_nprobe(index) == 3
    write_index(index, tmp_path / "k.index")
    assert IndexRetriever.load(tmp_path / "k.index").nprobe == 3
    assert IndexRetriever.load(tmp_path / "k.index", nprobe=5).nprobe == 5
    # Auto below its threshold keeps every vector
    assert build_index(x, IndexBuildConfig(algorithm="Auto")).ntotal == 600


def test_applio_index_keeps_its_nprobe(fixtures_dir):
    r = IndexRetriever.load(fixtures_dir / "pipeline_tiny" / "model.index")
    assert r.nprobe == 1 and r.vectors.shape == (6117, 768)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ArvcError, match="not found"):
        read_index(tmp_path / "nope.index")
    (tmp_path / "bad.index").write_bytes(b"garbage")
    with pytest.raises(ArvcError, match="bad.index"):
        read_index(tmp_path / "bad.index")
    _write_chunks("v1model", [50], dim=768)
    assert cli_main(["create-index", "v1model", "--version", "v1"]) == 1  # 768-dim features for a v1 index
    assert cli_main(["create-index", "missing"]) == 1


def _feature_folder(folder, rows_per_file, dim, seed=0):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((32, dim)).astype(np.float32) * 4
    for i, n in enumerate(rows_per_file):
        x = centres[rng.integers(0, 32, n)] + rng.standard_normal((n, dim)).astype(np.float32)
        np.save(folder / f"0_{i:04d}_0.wav.npy", x.astype(np.float32))
    return folder


def test_streamed_build_samples_trains_and_adds_in_batches_with_bounded_memory(tmp_path):
    """Above load_limit: every vector indexed, findable, the stored nprobe scaled, and the numpy memory of the
    build a fraction of the data (the data is never concatenated)."""
    import tracemalloc

    from arvc.index import build_index_from_files, nprobe_for, scan_feature_folder

    src = scan_feature_folder(_feature_folder(tmp_path / "f", [3000] * 40, 64), dim=64)
    assert src.total == 120_000 and src.dim == 64
    data_bytes = src.total * 64 * 4  # 30.7 MB
    cfg = IndexBuildConfig(algorithm="Faiss", load_limit=10_000, train_cap=20_000)
    import faiss  # noqa: F401  (imported before measuring: module imports would count)

    tracemalloc.start()
    index = build_index_from_files(src, cfg)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < data_bytes / 3, (peak, data_bytes)  # sample 5.1 MB + batches; loading it all peaks at ~2x data
    assert index.ntotal == src.total and index.nlist == nlist_for(src.total)
    assert get_nprobe(index) == nprobe_for(index.nlist) == round(np.sqrt(index.nlist) / 2) > 9
    r = IndexRetriever(index, nprobe=index.nlist)
    probe = np.concatenate([np.load(f)[::997] for f in src.files[::7]])
    score, ids = r.search(probe)
    assert np.allclose(score[:, 0], 0, atol=1e-3) and np.allclose(r.vectors[ids[:, 0]], probe)
    assert src.sample(5, 1).shape == (5, 64) and np.array_equal(src.sample(50, 3), src.sample(50, 3))

    reduced = build_index_from_files(src, IndexBuildConfig(algorithm="KMeans", kmeans_centroids=200,
                                                           load_limit=10_000))
    assert reduced.ntotal == 200 and get_nprobe(reduced) == 9
    # below load_limit the Applio-compatible in-memory build is used unchanged
    small = build_index_from_files(scan_feature_folder(_feature_folder(tmp_path / "s", [300] * 3, 16)),
                                   IndexBuildConfig(algorithm="Faiss"))
    assert small.ntotal == 900 and get_nprobe(small) == 9


def test_streamed_build_refuses_non_finite_features(tmp_path):
    from arvc.index import build_index_from_files, scan_feature_folder

    folder = _feature_folder(tmp_path / "f", [500] * 4, 8)
    x = np.load(folder / "0_0003_0.wav.npy")
    x[7, 2] = np.nan
    np.save(folder / "0_0003_0.wav.npy", x)
    with pytest.raises(ArvcError, match="0_0003_0.wav.npy: features contain NaN"):
        build_index_from_files(scan_feature_folder(folder), IndexBuildConfig(algorithm="Faiss", load_limit=100,
                                                                             train_cap=50))
