"""Safe loading: code in a pickle never runs, broken files give one-line errors naming the file."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from arvc.errors import ArvcError
from arvc.formats import read_model, safe_torch_load


class _Planted:
    """Unpickling this would create the file ``target`` (via os.system / builtins.open)."""

    def __init__(self, target: Path, how: str = "system") -> None:
        self.target = target
        self.how = how

    def __reduce__(self):
        if self.how == "system":
            return (os.system, (f"touch {self.target}",))
        return (open, (str(self.target), "w"))


def _unpickle_unsafely(path: Path) -> None:
    """Control, on files these tests made: what an unrestricted unpickler does with ``path``'s pickle
    (proves the planted object really creates its file). Tensor storages are not rebuilt."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            data = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    else:
        data = path.read_bytes()

    class Unrestricted(pickle.Unpickler):
        def persistent_load(self, pid):
            raise pickle.UnpicklingError("the control does not rebuild tensors")

    with contextlib.suppress(pickle.UnpicklingError):
        Unrestricted(io.BytesIO(data)).load()


@pytest.mark.parametrize("how", ["system", "open"])
def test_torch_saved_malicious_pickle_is_refused(tmp_path, how):
    target = tmp_path / "PWNED"
    evil = tmp_path / "evil.pth"
    # the planted object comes first, so an unrestricted unpickler runs it before reaching any tensor
    torch.save({"config": _Planted(target, how), "weight": {"a": torch.zeros(2)}}, evil)
    with pytest.raises(ArvcError) as e:
        safe_torch_load(evil)
    assert "refused" in str(e.value) and str(evil) in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ArvcError):
        read_model(evil)
    assert not target.exists()
    _unpickle_unsafely(evil)  # control: the same bytes, unpickled without restrictions, do create it
    assert target.exists()


def test_raw_pickle_malicious_is_refused(tmp_path):
    target = tmp_path / "PWNED"
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        pickle.dump({"weight": _Planted(target)}, f, protocol=2)
    with pytest.raises(ArvcError, match="refused"):
        safe_torch_load(evil)
    with pytest.raises(ArvcError, match="refused"):
        read_model(evil)
    assert not target.exists()
    _unpickle_unsafely(evil)  # control: the planted pickle is live
    assert target.exists()


def test_legacy_format_and_plain_types_load(tmp_path):
    p = tmp_path / "legacy.pth"
    obj = {"a": torch.arange(5), "b": [1, "x", 2.5, None, True], "c": {"d": (1, 2)}}
    torch.save(obj, p, _use_new_zipfile_serialization=False)
    got = safe_torch_load(p)
    assert torch.equal(got["a"], obj["a"]) and got["b"] == obj["b"] and got["c"] == obj["c"]


@pytest.mark.parametrize("legacy", [False, True])
def test_truncated_file_gives_clear_error(tmp_path, legacy):
    full = tmp_path / "full.pth"
    torch.save({"weight": {"x": torch.randn(4096)}, "config": [1] * 18}, full, _use_new_zipfile_serialization=not legacy)
    data = full.read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArvcError, match="(corrupt|truncated)") as e:
        read_model(cut)
    assert str(cut) in str(e.value) and "\n" not in str(e.value)


def test_missing_empty_and_garbage_files(tmp_path):
    with pytest.raises(ArvcError, match="not found"):
        read_model(tmp_path / "nope.pth")
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(ArvcError, match="empty"):
        read_model(empty)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"RIFF" + bytes(range(256)) * 4)
    with pytest.raises(ArvcError, match="not a torch file"):
        read_model(junk)


def test_non_model_dict_gives_clear_error(tmp_path):
    p = tmp_path / "random.pth"
    torch.save({"foo": torch.zeros(3), "bar": 1}, p)
    with pytest.raises(ArvcError, match="not an RVC model") as e:
        read_model(p)
    assert str(p) in str(e.value)
    p2 = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), p2)
    with pytest.raises(ArvcError, match="not an RVC model"):
        read_model(p2)
    g = tmp_path / "G_10.pth"
    torch.save({"model": {"enc_p.x": torch.zeros(1)}, "iteration": 1, "optimizer": None, "learning_rate": 1e-4}, g)
    with pytest.raises(ArvcError, match="training checkpoint"):
        read_model(g)
