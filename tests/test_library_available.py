"""What this machine has (library/available.py): presence checks only, no torch, one reason per choice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from arvc.library.available import FROM_SCRATCH, default_embedder, default_f0, machine_defaults, pretrain_choices

ROOT = Path(__file__).resolve().parents[1]


def _models() -> Path:
    return Path(os.environ["ARVC_MODELS_DIR"])


def test_f0_is_rmvpe_only_when_its_weights_are_here():
    assert default_f0().value == "fcpe" and "rmvpe" in default_f0().why  # fcpe ships in its wheel
    (_models() / "f0").mkdir(parents=True)
    (_models() / "f0" / "rmvpe.pt").write_bytes(b"x")
    assert default_f0().value == "rmvpe"


def test_f0_default_follows_the_benchmark_ranking_and_weight_presence(monkeypatch):
    from arvc.library import available

    assert available.F0_RANKING[:3] == ("rmvpe", "fcpe", "fusion")
    real = available._package_file
    gone: set[str] = set()
    monkeypatch.setattr(available, "_package_file", lambda pkg, rel: pkg not in gone and real(pkg, rel))
    assert default_f0().value == "fcpe"
    gone.add("torchfcpe")  # fusion needs fcpe too: the next ranked method whose weights are here
    assert default_f0().value == "crepe-tiny" and "fcpe" in default_f0().why and "fusion" in default_f0().why
    gone.add("torchcrepe")
    assert default_f0().value == "swift"
    gone.add("swift_f0")
    assert default_f0().value == "harvest"
    gone.add("pyworld")
    assert default_f0().value == "pm"


def test_embedder_is_contentvec_only_when_its_folder_is_complete():
    assert default_embedder().value == "whisper-tiny.en"  # the wheel is a dependency
    folder = _models() / "embedders" / "contentvec"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    assert default_embedder().value == "whisper-tiny.en"  # no weights yet
    (folder / "pytorch_model.bin").write_bytes(b"x")
    assert default_embedder().value == "contentvec"


def _starter(folder: Path, **info) -> Path:
    folder.mkdir(parents=True)
    for f in ("G.pth", "D.pth"):
        (folder / f).write_bytes(b"x")
    (folder / "pretrain.json").write_text(json.dumps(info))
    return folder


def test_pretrain_falls_back_to_a_fitting_starter_then_from_scratch(tmp_path):
    starters = tmp_path / "starters"
    choices = pretrain_choices("whisper-tiny.en", None, "v2", starters)
    assert [c.label for c in choices] == [FROM_SCRATCH] and "ContentVec" in choices[0].why
    _starter(starters / "other", embedder="contentvec", sample_rate=32000, version="v2")
    _starter(starters / "mine", embedder="whisper-tiny.en", sample_rate=32000, version="v2", model_size="small")
    choices = pretrain_choices("whisper-tiny.en", None, "v2", starters)
    assert [c.label for c in choices] == ["starter mine", FROM_SCRATCH]
    assert pretrain_choices("whisper-tiny.en", 40000, "v2", starters)[0].from_scratch  # wrong rate
    d = machine_defaults(starters)
    assert d.pretrain.label == "starter mine" and d.sample_rate == 32000 and d.pretrain.model_size == "small"


def test_standard_pretrain_when_downloaded_for_contentvec():
    from arvc.library.catalog import load_catalog, standard_for

    entry = standard_for(load_catalog(refresh=False), "v2", True, "HiFi-GAN")
    g, d = entry.local_paths(40000)
    g.parent.mkdir(parents=True)
    g.write_bytes(b"x")
    d.write_bytes(b"x")
    assert pretrain_choices("contentvec", 40000)[0].g == g
    assert pretrain_choices("whisper-tiny.en", 40000)[0].from_scratch  # other features: not offered


def test_importing_it_imports_no_torch():
    code = "import sys, arvc.library.available as a; a.machine_defaults(); sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)}).returncode == 0
