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
