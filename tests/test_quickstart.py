"""The quickstart stage end to end on a cut-down copy of the demo voices (a few seconds of training)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("one_thread")


def test_quickstart_runs_every_stage_and_writes_scores(tmp_path, voices_dir, capsys):
    from arvc.api.cli import main

    voices = tmp_path / "voices"
    for sub, names in (("slt", [f"slt_{i:02d}" for i in range(1, 7)]), ("slt_test", ["slt_51", "slt_52"]),
                       ("kal", ["kal_51", "kal_52"])):
        (voices / sub).mkdir(parents=True)
        for n in names:
            shutil.copy(voices_dir / sub / f"{n}.flac", voices / sub)
    shutil.copy(voices_dir / "sentences.txt", voices)
    out = tmp_path / "out"
    rc = main(["quickstart", "--offline", "--voices", str(voices), "--logs_dir", str(tmp_path / "logs"),
               "--output_dir", str(out), "--train_minutes", "10", "--epochs", "3", "--cpu_cores", "1", "--save_every", "1"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "whisper-tiny.en" in text
    pretrain_line = next(line for line in text.splitlines() if line.startswith("pretrain          :"))
    from arvc.training.starter import STARTER

    starter_shipped = (STARTER.folder / "G.pth").is_file() and (STARTER.folder / "D.pth").is_file()
    assert ("starter pretrain" if starter_shipped else "training from scratch") in pretrain_line
    assert "speaker similarity to slt: converted" in text
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(p.name for p in (out / "converted").iterdir()) == ["kal_51.wav", "kal_52.wav"]
    assert sorted(p.name for p in (out / "eval" / "plots").glob("*.png")) == ["kal_51.png", "kal_52.png"]
    scores = json.loads((out / "eval" / "scores.json").read_text())
    assert scores["n_scored"] == 2
    for key in ("mean_similarity_output_to_target", "mean_similarity_source_to_target", "mean_cer"):
        assert isinstance(summary[key], float), key
    assert summary["pitch"] > 0  # male source, female target: transposed up
    ranking = json.loads(Path(summary["ranking"]).read_text())["ranking"]
    assert 2 <= len(ranking) <= 4 and [r["rank"] for r in ranking] == list(range(1, len(ranking) + 1))
    assert summary["model"].endswith(ranking[0]["weights"])  # converted with the best-ranked epoch
    assert "epoch ranking" in text
