"""Check an ``*.index`` file before FAISS touches it: some index types abort the process (SIGABRT) on
``reconstruct``, and a crafted header can ask for arrays of any size.

Only the types RVC clients write are accepted: ``IVF<n>,Flat`` (fourcc ``IwFl``) and a flat index
(``IxF2`` L2, ``IxFI`` inner product). The binary header is parsed here (little-endian, as FAISS writes it):

  fourcc[4]  d:int32  ntotal:int64  dummy:int64 x2  is_trained:uint8  metric:int32  [metric_arg:float32]
  IVF only:  nlist:uint64  nprobe:uint64  quantizer (a flat index, same header)  ...

After FAISS has read an accepted file, :func:`check_loaded` verifies what the header cannot show: the IVF
lists hold exactly ``ntotal`` ids, all in ``[0, ntotal)`` (the retrieval indexes its vector table with them).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arvc.errors import ArvcError

FLAT = {b"IxF2": "flat (L2)", b"IxFI": "flat (inner product)"}
IVF_FLAT = b"IwFl"
KNOWN_OTHERS = {
    b"IxMp": "IndexIDMap", b"IxM2": "IndexIDMap2", b"IwPQ": "IVF-PQ", b"IwSq": "IVF-SQ", b"IxPq": "PQ",
    b"IxHe": "HNSW", b"IHNf": "HNSW", b"IxSQ": "scalar-quantizer", b"IxPT": "pre-transform", b"IxRF": "refine",
    b"IxLS": "LSH", b"IwRF": "IVF-RaBitQ", b"IxSh": "shards",
}
MAX_DIM = 8192
HEADER = struct.Struct("<4siqqqBi")  # fourcc d ntotal dummy dummy is_trained metric


@dataclass(frozen=True)
class IndexHeader:
    """What the first bytes of an index file say: its type, vector size and count."""

    kind: str  # "ivf_flat" | "flat"
    dim: int
    ntotal: int
    nlist: int = 0


def _header_at(data: bytes, offset: int, p: Path) -> tuple[bytes, int, int, int, int]:
    """(fourcc, d, ntotal, metric, end offset) of the index header starting at ``offset``."""
    if len(data) < offset + HEADER.size:
        raise ArvcError(f"{p}: not a FAISS index (file too short)")
    fourcc, d, ntotal, _, _, _, metric = HEADER.unpack_from(data, offset)
    end = offset + HEADER.size + (4 if metric > 1 else 0)
    return fourcc, d, ntotal, metric, end


def _kind_error(p: Path, fourcc: bytes) -> ArvcError:
    name = KNOWN_OTHERS.get(fourcc)
    what = f"a FAISS {name} index" if name else "not a FAISS index of a known type"
    return ArvcError(f"{p}: {what}; only IVF,Flat and flat indexes (what RVC clients write) are supported")


def inspect_header(path: str | os.PathLike) -> IndexHeader:
    """Parse and sanity-check the header of ``path``. Raises ArvcError naming the file; never calls FAISS."""
    p = Path(path)
    size = p.stat().st_size
    with open(p, "rb") as f:
        data = f.read(256)
    fourcc, d, ntotal, metric, end = _header_at(data, 0, p)
    if fourcc not in FLAT and fourcc != IVF_FLAT:
        raise _kind_error(p, fourcc)
    if not 1 <= d <= MAX_DIM:
        raise ArvcError(f"{p}: index header claims {d}-dim vectors (expected 1..{MAX_DIM})")
    if metric not in (0, 1):
        raise ArvcError(f"{p}: index uses metric type {metric}; only L2 and inner product are supported")
    if ntotal < 0 or ntotal * d * 4 > size:
        raise ArvcError(f"{p}: index header claims {ntotal} vectors of {d} dims, more than its {size} bytes can hold")
    if fourcc in FLAT:
        return IndexHeader("flat", d, ntotal)
    if len(data) < end + 16:
        raise ArvcError(f"{p}: truncated IVF index header")
    nlist, _nprobe = struct.unpack_from("<QQ", data, end)
    q_fourcc, q_d, q_ntotal, _, _ = _header_at(data, end + 16, p)
    if q_fourcc not in FLAT:
        raise ArvcError(f"{p}: the IVF index's quantizer is {KNOWN_OTHERS.get(q_fourcc, repr(q_fourcc))}, not a flat index")
    if q_d != d or q_ntotal != nlist or not 1 <= nlist <= max(1, ntotal) or nlist * d * 4 > size:
        raise ArvcError(f"{p}: inconsistent IVF header (nlist {nlist}, quantizer {q_ntotal} x {q_d}, index {ntotal} x {d})")
    return IndexHeader("ivf_flat", d, ntotal, int(nlist))


def check_loaded(index, header: IndexHeader, path: str | os.PathLike) -> None:
    """Verify a FAISS index read from an accepted file before anything reconstructs or searches it."""
    import faiss

    p = Path(path)
    if int(index.ntotal) != header.ntotal or int(index.d) != header.dim:
        raise ArvcError(f"{p}: index body does not match its header")
    if header.kind == "flat":
        if not isinstance(index, faiss.IndexFlat) or index.codes.size() != header.ntotal * header.dim * 4:
            raise ArvcError(f"{p}: flat index holds {index.codes.size()} bytes for {header.ntotal} vectors")
        return
    if not isinstance(index, faiss.IndexIVFFlat):
        raise ArvcError(f"{p}: expected an IVF,Flat index, FAISS read {type(index).__name__}")
    lists = index.invlists
    total = 0
    for i in range(index.nlist):
        n = int(lists.list_size(i))
        total += n
        if total > header.ntotal:
            break
        if n == 0:
            continue
        ids = faiss.rev_swig_ptr(lists.get_ids(i), n)
        if int(np.min(ids)) < 0 or int(np.max(ids)) >= header.ntotal:
            raise ArvcError(f"{p}: IVF list {i} holds vector ids outside 0..{header.ntotal - 1} "
                            f"(found {int(np.min(ids))}..{int(np.max(ids))})")
    if total != header.ntotal:
        raise ArvcError(f"{p}: IVF lists hold {total} vectors but the header says {header.ntotal}")
