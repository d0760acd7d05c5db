"""Crafted ``.index`` files given to ``infer``: one error line naming the file and exit 1, never a signal."""

from __future__ import annotations

import numpy as np
import pytest

from arvc.errors import ArvcError
from arvc.index import IndexRetriever, read_index
from _robustness import assert_one_error, run_cli

DIM = 768


def _vectors(n: int = 600) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, DIM)).astype(np.float32)


def _idmap(path):
    import faiss

    index = faiss.IndexIDMap(faiss.IndexFlatL2(DIM))
    index.add_with_ids(_vectors(), np.arange(600, dtype=np.int64) * 7)
    faiss.write_index(index, str(path))


def _huge_ntotal(path):
    import faiss

    index = faiss.IndexFlatL2(DIM)
    index.add(_vectors())
    faiss.write_index(index, str(path))
    data = bytearray(path.read_bytes())
    data[8:16] = (2**62).to_bytes(8, "little")  # ntotal of the header
    path.write_bytes(bytes(data))


def _ivf_big_ids(path):
    import faiss

    x = _vectors()
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(DIM), DIM, 4)
    index.cp.min_points_per_centroid = 1
    index.train(x)
    index.add_with_ids(x, np.arange(600, dtype=np.int64) + 10**9)
    faiss.write_index(index, str(path))


CRAFTED = {"idmap": _idmap, "huge_ntotal": _huge_ntotal, "ivf_big_ids": _ivf_big_ids}


@pytest.mark.parametrize("kind", ["huge_ntotal", "ivf_big_ids"])  # the IDMap one aborts a process: CLI test only
def test_crafted_index_refused_in_process(kind, tmp_path):
    path = tmp_path / f"{kind}.index"
    CRAFTED[kind](path)
    with pytest.raises(ArvcError, match=str(path)):
        IndexRetriever(read_index(path))


@pytest.mark.parametrize("kind", list(CRAFTED))
def test_crafted_index_infer_one_line(kind, tmp_path, fixtures_dir):
    pt = fixtures_dir / "pipeline_tiny"
    path = tmp_path / f"{kind}.index"
    CRAFTED[kind](path)
    proc = run_cli("infer", "-m", pt / "model.pth", "--index", path, "--embedder_model", "custom",
                   "--embedder_path", pt / "embedder", "--f0_method", "pm", "-i", pt / "input_short.wav",
                   "-o", tmp_path / "out.wav")
    line = assert_one_error(proc, str(path))
    assert "input_short" not in line  # the index is blamed, not the audio
    assert not (tmp_path / "out.wav").exists()


def test_genuine_indexes_still_load(tmp_path, fixtures_dir):
    import faiss

    r = IndexRetriever.load(fixtures_dir / "pipeline_tiny" / "model.index")  # Applio-made IVF,Flat
    assert r.vectors.shape == (r.index.ntotal, DIM)
    flat = faiss.IndexFlatIP(DIM)
    flat.add(_vectors(50))
    faiss.write_index(flat, str(tmp_path / "flat.index"))
    assert IndexRetriever.load(tmp_path / "flat.index").vectors.shape == (50, DIM)
