"""evaluate on cases with known answers (self, pitch-shifted copy, another speaker) and bad inputs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from arvc.audio.io import load_audio, save_audio
from arvc.evaluation.asr import cer, normalize_text
from arvc.evaluation.pitch import compare_f0
from arvc.stages.evaluate import EvaluateConfig, evaluate

F0 = "pm"


def test_compare_f0_pure_function():
    t = np.linspace(0, 1, 100)
    f = 150 * 2 ** (0.3 * np.sin(2 * np.pi * 2 * t))
    f[:10] = 0
    shifted = f * 2 ** (4 / 12)
    r = compare_f0(f, shifted, semitones=4)
    assert r["f0_corr"] == pytest.approx(1.0, abs=1e-9)
    assert r["f0_rmse_cents"] == pytest.approx(0.0, abs=1e-6)
    assert r["voicing_agreement"] == 1.0
    r0 = compare_f0(f, shifted, semitones=0)
    assert r0["f0_rmse_cents"] == pytest.approx(400.0, abs=1e-6)
    noisy = compare_f0(f, np.roll(f, 37), 0)
    assert noisy["f0_corr"] < 0.9


def test_cer_normalises_and_counts_edits():
    assert normalize_text("The frosty air, passed!") == "the frosty air passed"
    assert cer("The frosty air passed.", "the frosty air passed") == 0.0
    assert cer("abcd", "abxd") == pytest.approx(0.25)
    assert cer("abcd", "") == pytest.approx(1.0)


@pytest.fixture(scope="module")
def eval_case(tmp_path_factory, voices_dir=None):
    from pathlib import Path

    import librosa

    voices = Path(__file__).resolve().parents[1] / "assets" / "voices"
    d = tmp_path_factory.mktemp("eval")
    src = d / "src"
    out = d / "out"
    src.mkdir()
    out.mkdir()
    slt = load_audio(voices / "slt_test" / "slt_51.flac", 16000)
    save_audio(src / "slt_51.wav", slt, 16000, subtype="FLOAT")
    save_audio(out / "slt_51.wav", slt, 16000, subtype="FLOAT")  # the file against itself
    shifted = librosa.effects.pitch_shift(slt, sr=16000, n_steps=3)
    save_audio(src / "slt_52.wav", slt, 16000, subtype="FLOAT")
    save_audio(out / "slt_52.wav", shifted, 16000, subtype="FLOAT")  # pitch-shifted copy
    kal = load_audio(voices / "kal" / "kal_53.flac", 16000)
    save_audio(out / "kal_53.wav", kal, 16000, subtype="FLOAT")  # a different speaker
    (out / "broken.wav").write_bytes(b"RIFF\x00\x00garbage")
    texts = d / "texts.txt"
    texts.write_text("slt_51|" + (voices / "sentences.txt").read_text().splitlines()[50] + "\n")
    return d, voices


def test_evaluate_known_answers(eval_case):
    d, voices = eval_case
    refs = [voices / "slt_test" / f"slt_5{i}.flac" for i in (3, 4, 5, 6)]
    res = evaluate(EvaluateConfig(
        inputs=[d / "out"], references=refs, sources=[d / "src"], text=d / "texts.txt",
        output_dir=d / "report", f0_method=F0, pitch=0.0,
    ))
    rows = {r["file"].split("/")[-1]: r for r in res.rows}
    self_row, shifted, other = rows["slt_51.wav"], rows["slt_52.wav"], rows["kal_53.wav"]
    # a file against itself
    assert self_row["sim_source"] == pytest.approx(1.0, abs=1e-4)
    assert self_row["f0_corr"] == pytest.approx(1.0, abs=1e-6)
    assert self_row["cer"] == 0.0
    # another speaker is less similar to the target than the target's own recording
    assert other["sim_target"] < self_row["sim_target"] - 0.15
    # bad file reported, the rest scored
    assert "error" in rows["broken.wav"] and "broken.wav" in rows["broken.wav"]["error"]
    assert res.failed == 1
    assert any("broken.wav" in m for m in res.messages)
    # missing transcripts are reported, not fatal
    assert any("no transcript for slt_52" in m for m in res.messages)
    assert "cer" not in shifted
    # outputs
    data = json.loads((d / "report" / "scores.json").read_text())
    assert data["n_scored"] == 3 and data["n_failed"] == 1
    assert (d / "report" / "scores.csv").read_text().count("\n") == 6  # header, 4 files (one failed), MEAN
    png = (d / "report" / "plots" / "slt_51.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert 1.0 <= self_row["mos_ovrl"] <= 5.0
    # pitch-shifted copy: stated transposition restores the F0 correlation
    res_shift = evaluate(EvaluateConfig(
        inputs=[d / "out" / "slt_52.wav"], references=refs, sources=[d / "src"], output_dir=d / "shift",
        f0_method=F0, pitch=3.0, asr=False, mos=False, plots=False,
    ))
    r = res_shift.rows[0]
    assert r["f0_corr"] > 0.97
    assert r["f0_rmse_cents"] < 60
    r_wrong = compare_f0(np.array([1.0]), np.array([1.0]))  # sanity of NaN path
    assert math.isnan(r_wrong["f0_corr"])


def test_evaluate_without_references_or_text(eval_case):
    d, _ = eval_case
    res = evaluate(EvaluateConfig(inputs=[d / "out" / "slt_51.wav"], output_dir=d / "bare", f0_method=F0,
                                  mos=False, plots=False))
    assert res.failed == 0
    assert "sim_target" not in res.rows[0]
    assert any("no reference recordings" in m for m in res.messages)
    assert any("no --text given" in m for m in res.messages)


def test_evaluate_cli_missing_input_is_one_line_error(tmp_path, capsys):
    from arvc.api.cli import main

    rc = main(["evaluate", "-i", str(tmp_path / "nope"), "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 1
    assert err.count("\n") == 0 and "nope" in err and "no such file" in err
    assert not (tmp_path / "o").exists()
