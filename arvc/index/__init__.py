"""The FAISS retrieval index: build (create-index), read/write ``*.index`` files, search and blend."""

from arvc.index.build import ALGORITHMS, IndexBuildConfig, build_index, load_feature_folder, nlist_for
from arvc.index.io import get_nprobe, read_index, set_nprobe, write_index
from arvc.index.search import IndexRetriever, weighted_neighbours

__all__ = [
    "ALGORITHMS", "IndexBuildConfig", "IndexRetriever", "build_index", "get_nprobe", "load_feature_folder",
    "nlist_for", "read_index", "set_nprobe", "weighted_neighbours", "write_index",
]
