"""The FAISS retrieval index: build (create-index), read/write ``*.index`` files, search and blend."""

from arvc.index.build import (ALGORITHMS, FeatureFiles, IndexBuildConfig, build_index, build_index_from_files,
                              load_feature_folder, nlist_for, nprobe_for, scan_feature_folder)
from arvc.index.io import get_nprobe, read_index, set_nprobe, write_index
from arvc.index.search import IndexRetriever, weighted_neighbours

__all__ = [
    "ALGORITHMS", "FeatureFiles", "IndexBuildConfig", "IndexRetriever", "build_index", "build_index_from_files",
    "get_nprobe", "load_feature_folder", "nlist_for", "nprobe_for", "read_index", "scan_feature_folder",
    "set_nprobe", "weighted_neighbours", "write_index",
]
