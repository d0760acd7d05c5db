"""Model files that load but cannot give sound: NaN/inf weights are refused at load, a TorchScript file is named
as such, and non-finite output is never written."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arvc.api.cli import main as cli_main
from arvc.errors import ArvcError


def _poisoned_model(src, dst, value=float("nan")):
    raw = torch.load(src, map_location="cpu", weights_only=True)
    w = raw["weight"]["enc_p.emb_phone.weight"].clone()
    w[0, 0] = value
    raw["weight"]["enc_p.emb_phone.weight"] = w
    torch.save(raw, dst)
    return dst


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_model_refused_by_infer(value, tmp_path, capsys, fixtures_dir):
    pt = fixtures_dir / "pipeline_tiny"
    bad = _poisoned_model(pt / "model.pth", tmp_path / "bad.pth", value)
    rc = cli_main(["infer", "-m", str(bad), "-i", str(pt / "input_short.wav"), "-o", str(tmp_path / "out.wav"),
                   "--f0_method", "pm", "--embedder_model", "custom", "--embedder_path", str(pt / "embedder")])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert rc == 1 and len(lines) == 1 and str(bad) in lines[0] and "enc_p.emb_phone.weight" in lines[0], err
    assert not (tmp_path / "out.wav").exists()


def test_non_finite_model_refused_by_model_tools(tmp_path, capsys, fixtures_dir):
    pt = fixtures_dir / "pipeline_tiny"
    bad = _poisoned_model(pt / "model.pth", tmp_path / "bad.pth")
    assert cli_main(["model-merge", str(pt / "model.pth"), str(bad), "-o", str(tmp_path / "m.pth")]) == 1
    assert "NaN or infinite" in capsys.readouterr().err
    assert not (tmp_path / "m.pth").exists()


def test_non_finite_checkpoint_refused(tmp_path):
    from arvc.formats import load_checkpoint

    torch.save({"model": {"a.weight": torch.tensor([1.0, float("nan")])}, "iteration": 3}, tmp_path / "G_3.pth")
    with pytest.raises(ArvcError, match="a.weight.*NaN or infinite"):
        load_checkpoint(tmp_path / "G_3.pth")


def test_torchscript_file_is_named(tmp_path, capsys):
    scripted = torch.jit.trace(torch.nn.Linear(2, 2), torch.zeros(1, 2))
    torch.jit.save(scripted, str(tmp_path / "model.pth"))
    assert cli_main(["model-info", str(tmp_path / "model.pth")]) == 1
    err = capsys.readouterr().err
    assert "TorchScript" in err and "corrupt" not in err


def test_non_finite_output_never_written(tmp_path):
    from arvc.inference.silence_gate import check_output

    with pytest.raises(ArvcError, match="song.wav: the model produced NaN"):
        check_output(np.array([0.1, np.nan], dtype=np.float32), "song.wav")


def test_pinned_output_warns(caplog):
    from arvc.inference.silence_gate import check_output

    check_output(np.full(1000, 0.99, dtype=np.float32), "song.wav")
    assert "full scale" in caplog.text
    caplog.clear()
    check_output(0.5 * np.sin(np.arange(1000, dtype=np.float32)), "song.wav")
    assert "full scale" not in caplog.text
