"""``arvc pretrain export|merge|list``: a tiny multi-speaker run exported as a pretrain, a new voice trained from
it through --pretrained_g/--pretrained_d (and --pretrained NAME), merges, and the UI's list of pretrains."""

from __future__ import annotations

import json
import os

import pytest
import torch

from _training_data import make_experiment
from arvc.errors import ArvcError
from arvc.training.config import TrainConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def _cli(*argv: str) -> int:
    from arvc.api.cli import main

    return main(list(argv))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """3 speakers, tiny model, from scratch, 2 epochs x 2 steps; G_/D_ of epochs 1 and 2 kept."""
    from arvc.stages.train import train

    logs = tmp_path_factory.mktemp("multi") / "logs"
    make_experiment(logs / "multi", n_items=8, seconds=0.4, speakers=3, seed=2)
    torch.set_num_threads(1)
    r = train(TrainConfig(model_name="multi", logs_dir=str(logs), model_size="tiny", from_scratch=True,
                          batch_size=4, epochs=2, save_every=1, progress=False, learning_rate=1e-3))
    assert r.epoch == 2
    return logs / "multi"


def _state(path):
    from arvc.formats import load_checkpoint

    return load_checkpoint(path).model


def test_export_then_a_new_voice_trains_from_it(run, tmp_path, capsys):
    from arvc.library.available import pretrain_choices
    from arvc.library.models_dir import local_pretrains_root

    assert _cli("pretrain", "export", str(run), "--name", "multi") == 0
    folder = local_pretrains_root() / "multi"
    assert "--pretrained_g " + str(folder / "G.pth") in capsys.readouterr().out
    info = json.loads((folder / "pretrain.json").read_text())
    assert (info["epoch"], info["step"], info["dtype"]) == (2, 4, "fp16")
    assert (info["sample_rate"], info["version"], info["model_size"], info["f0"]) == (40000, "v2", "tiny", True)
    g = _state(folder / "G.pth")
    assert info["speakers"] == g["emb_g.weight"].shape[0] >= 3 and all(v.dtype == torch.float16 for v in g.values() if v.is_floating_point())
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # the temporary folder is gone
    assert _cli("pretrain", "list", "--json") == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["multi"]
    labels = [c.label for c in pretrain_choices(info["embedder"], 40000)]
    assert "local multi" in labels  # the UI's pretrain dropdown

    # a new one-speaker voice from the pretrain: after one small step its weights are the pretrain's
    logs = tmp_path / "logs"
    make_experiment(logs / "voice", n_items=4, seconds=0.4, seed=9)
    assert _cli("train", "voice", "--pretrained_g", str(folder / "G.pth"), "--pretrained_d", str(folder / "D.pth"),
                "--model_size", "tiny", "--batch_size", "4", "--max_steps", "1", "--epochs", "1",
                "--learning_rate", "1e-5", "--progress", "false") == 0
    voice = _state(logs / "voice" / "G_1.pth")
    assert voice.keys() == g.keys()
    # the speaker table too (the tiny model's 4 rows hold the run's 3 speakers); one Adam step of 1e-5 away
    from_pretrain = max((v.float() - g[k].float()).abs().max().item() for k, v in voice.items())
    init = _fresh_tiny_g()  # what the pretrain run started from (same seed): 4 steps of 1e-3 away
    from_init = max((voice[k].float() - init[k]).abs().max().item() for k in voice if k in init)
    assert from_pretrain < 3e-5 and from_init > 30 * from_pretrain, (from_pretrain, from_init)
    from arvc.formats import read_model

    assert read_model(logs / "voice" / "voice.pth").metadata.pretrain == "multi/G.pth / multi/D.pth"


def _fresh_tiny_g() -> dict[str, torch.Tensor]:
    from arvc.models.config import ModelConfig
    from arvc.models.synthesizer import Synthesizer

    torch.manual_seed(1234)
    return Synthesizer(ModelConfig.for_size("tiny", version="v2", sample_rate=40000)).state_dict()


def test_pretrained_name_finds_a_local_pretrain_and_checks_it(run):
    from arvc.models.config import ModelConfig
    from arvc.stages.pretrain import export_pretrain
    from arvc.stages.config import PretrainExportConfig
    from arvc.training.pretrains import choose_pretrains

    out = export_pretrain(PretrainExportConfig(run, name="mine", dtype="fp32", epoch=1))
    assert out.epoch == 1 and _state(out.g)["emb_g.weight"].dtype == torch.float32
    cfg = TrainConfig(model_name="x", model_size="tiny", pretrained="mine")
    chosen = choose_pretrains(cfg, ModelConfig.for_size("tiny", version="v2", sample_rate=40000))
    assert (chosen.g, chosen.d, chosen.label) == (str(out.g), str(out.d), "local mine")
    with pytest.raises(ArvcError, match="made for sample_rate 40000, this run trains 48000"):
        choose_pretrains(cfg, ModelConfig.for_size("tiny", version="v2", sample_rate=48000))
    with pytest.raises(ArvcError, match="no G_7.pth / D_7.pth pair"):
        export_pretrain(PretrainExportConfig(run, name="x", epoch=7))
    bare = run.parent / "bare"
    bare.mkdir()
    with pytest.raises(ArvcError, match=r"bare/config.json: unreadable or not written by `arvc train`"):
        export_pretrain(PretrainExportConfig(bare, name="x"))
    with pytest.raises(ArvcError, match="no such experiment folder"):
        export_pretrain(PretrainExportConfig(run.parent / "nope", name="x"))
    assert not (out.g.parent.parent / "x").exists()


def test_merge_two_pretrains_by_a_ratio(run, tmp_path):
    from arvc.stages.config import PretrainExportConfig, PretrainMergeConfig
    from arvc.stages.pretrain import export_pretrain, merge_pretrains

    a = export_pretrain(PretrainExportConfig(run, name="e1", epoch=1, dtype="fp32"))
    b = export_pretrain(PretrainExportConfig(run, name="e2", epoch=2, dtype="fp32"))
    assert _cli("pretrain", "merge", "e1", "e2", "--ratio", "0.25", "--name", "mixed") == 0
    mixed = a.g.parent.parent / "mixed"
    for kind in ("G", "D"):
        ta, tb, tm = _state(a.g.parent / f"{kind}.pth"), _state(b.g.parent / f"{kind}.pth"), _state(mixed / f"{kind}.pth")
        assert tm.keys() == ta.keys()
        moved = max((ta[k] - tb[k]).abs().max().item() for k in ta if ta[k].is_floating_point())
        assert moved > 1e-4  # the two epochs differ, so the mix means something
        for k in ta:
            torch.testing.assert_close(tm[k], 0.25 * ta[k] + 0.75 * tb[k], rtol=1e-6, atol=1e-7)
    info = json.loads((mixed / "pretrain.json").read_text())
    assert info["ratio"] == 0.25 and len(info["merged_from"]) == 2 and info["sample_rate"] == 40000

    other = tmp_path / "other"
    merge_pretrains(PretrainMergeConfig(str(a.g.parent), "e2", name="copy", output_dir=other))
    manifest = json.loads((other / "pretrain.json").read_text())
    (other / "pretrain.json").write_text(json.dumps({**manifest, "sample_rate": 48000}))
    with pytest.raises(ArvcError, match="different sample_rate"):
        merge_pretrains(PretrainMergeConfig("e1", str(other), name="bad"))
    with pytest.raises(ArvcError, match="neither a pretrain folder"):
        merge_pretrains(PretrainMergeConfig("e1", "nope", name="bad"))
    assert not os.path.exists(a.g.parent.parent / "bad")


@pytest.fixture
def start_weights(monkeypatch):
    """The G and D state of every training run in this process right after it loaded its pretrains (step 0)."""
    from arvc.training import loop

    seen: list[dict[str, dict[str, torch.Tensor]]] = []
    real = loop.Trainer.resume_or_start

    def spy(self):
        real(self)
        seen.append({kind: {k: v.detach().clone() for k, v in loop._plain(net).state_dict().items()}
                     for kind, net in (("G", self.net_g), ("D", self.net_d))})

    monkeypatch.setattr(loop.Trainer, "resume_or_start", spy)
    return seen


def _assert_started_from(start: dict[str, torch.Tensor], pretrain: dict[str, torch.Tensor]) -> None:
    """Step-0 weights are the pretrain's (fp16 values upcast), the speaker table's common rows included."""
    assert start.keys() == pretrain.keys()
    for k, v in pretrain.items():
        mine = start[k]
        if k == "emb_g.weight":
            n = min(len(mine), len(v))
            mine, v = mine[:n], v[:n]
        assert torch.equal(mine, v.to(mine.dtype)), k


def test_a_pretrain_fine_tuned_from_a_pretrain_trains_a_voice(run, tmp_path, start_weights):
    """pretrain A (the 3-speaker run) -> a 4-speaker run started from A -> pretrain B -> a voice started from B."""
    from arvc.stages.config import PretrainExportConfig
    from arvc.stages.pretrain import export_pretrain
    from arvc.stages.train import train

    a = export_pretrain(PretrainExportConfig(run, name="gen1"))
    logs = tmp_path / "logs"
    make_experiment(logs / "multi2", n_items=8, seconds=0.4, speakers=4, seed=5)
    r = train(TrainConfig(model_name="multi2", logs_dir=str(logs), model_size="tiny", pretrained_g=str(a.g),
                          pretrained_d=str(a.d), batch_size=4, epochs=2, save_every=1, progress=False,
                          learning_rate=1e-3))
    assert r.epoch == 2 and len(start_weights) == 1
    ga, da = _state(a.g), _state(a.d)
    _assert_started_from(start_weights[0]["G"], ga)
    _assert_started_from(start_weights[0]["D"], da)

    assert _cli("pretrain", "export", str(logs / "multi2"), "--name", "gen2") == 0
    b_dir = a.g.parent.parent / "gen2"
    gb, db = _state(b_dir / "G.pth"), _state(b_dir / "D.pth")
    info = json.loads((b_dir / "pretrain.json").read_text())
    assert (info["epoch"], info["step"], info["speakers"]) == (2, 4, gb["emb_g.weight"].shape[0])
    for old, new in ((ga, gb), (da, db)):  # the second run trained on from A: B is A moved, not A copied
        assert max((new[k].float() - old[k].float()).abs().max().item() for k in old) > 1e-4

    make_experiment(logs / "voice", n_items=4, seconds=0.4, seed=9)
    assert _cli("train", "voice", "--pretrained_g", str(b_dir / "G.pth"), "--pretrained_d", str(b_dir / "D.pth"),
                "--model_size", "tiny", "--batch_size", "4", "--max_steps", "1", "--epochs", "1",
                "--logs_dir", str(logs), "--progress", "false") == 0
    assert len(start_weights) == 2
    _assert_started_from(start_weights[1]["G"], gb)
    _assert_started_from(start_weights[1]["D"], db)
    from arvc.formats import read_model

    assert read_model(logs / "voice" / "voice.pth").metadata.pretrain == "gen2/G.pth / gen2/D.pth"
