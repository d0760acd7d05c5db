"""The starter pretrain: export of a run's G_/D_ pair, the safe load, the quickstart's shape, and that a
fine-tune from it learns faster than from scratch (a tiny pretrain made here from a short multi-speaker run)."""

from __future__ import annotations

import json

import pytest
import torch

from _training_data import make_experiment
from arvc.errors import ArvcError
from arvc.paths import ExperimentPaths
from arvc.training.config import TrainConfig
from arvc.training.starter import STARTER, choose_starter

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.slow]  # trains (about a minute on a quiet CPU)

PRETRAIN_STEPS = 24


def _cfg(name: str, logs, **kw) -> TrainConfig:
    base = dict(model_name=name, logs_dir=str(logs), sample_rate=STARTER.sample_rate, version=STARTER.version,
                model_size=STARTER.model_size, batch_size=4, progress=False, precision="fp32", epochs=1000)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def starter(tmp_path_factory):
    """A tiny starter pretrain: the quickstart's model trained briefly on 3 synthetic speakers, exported."""
    from arvc.stages.train import train
    from arvc.training.pretrain_export import export_latest

    tmp = tmp_path_factory.mktemp("starter")
    logs = tmp / "logs"
    make_experiment(logs / "multi", n_items=12, seconds=0.6, sample_rate=STARTER.sample_rate, speakers=3, seed=3)
    r = train(_cfg("multi", logs, from_scratch=True, max_steps=PRETRAIN_STEPS, learning_rate=4e-4, save_every=1,
                   save_only_latest=True))
    assert r.step == PRETRAIN_STEPS
    return export_latest(logs / "multi", tmp / "pretrain", STARTER)


def test_export_is_fp16_weights_only_and_loads_through_the_safe_loader(starter):
    from arvc.formats import load_checkpoint
    from arvc.formats.safe_load import safe_torch_load
    from arvc.training.pretrain_export import sha256

    for path, kind in ((starter.g, "G"), (starter.d, "D")):
        raw = safe_torch_load(path, what="checkpoint")
        assert raw["optimizer"] is None
        floats = [v for v in raw["model"].values() if v.is_floating_point()]
        assert floats and all(v.dtype == torch.float16 for v in floats)
        assert load_checkpoint(path).kind == kind
    manifest = json.loads(starter.manifest.read_text())
    assert manifest["embedder"] == "whisper-tiny.en" and manifest["f0_method"] == "fcpe"
    assert manifest["sample_rate"] == 32000 and manifest["model_size"] == "small" and manifest["speakers"] == 3
    assert manifest["step"] == PRETRAIN_STEPS
    assert manifest["files"]["G.pth"]["sha256"] == sha256(starter.g)


def test_export_refuses_a_folder_without_checkpoints(tmp_path):
    from arvc.training.pretrain_export import export_latest

    (tmp_path / "empty").mkdir()
    with pytest.raises(ArvcError, match="no G_<epoch>.pth / D_<epoch>.pth pair"):
        export_latest(tmp_path / "empty", tmp_path / "out")


def test_starter_fits_only_its_features_and_says_why_not(starter, tmp_path):
    folder = starter.g.parent
    ok = choose_starter("whisper-tiny.en", 32000, "v2", folder)
    assert ok.g == starter.g and ok.d == starter.d and ok.model_size == "small"
    assert f"step {PRETRAIN_STEPS}" in ok.why and "3 speakers" in ok.why
    other = choose_starter("contentvec", 32000, "v2", folder)
    assert other.g is None and "is for whisper-tiny.en features at 32000 Hz" in other.why
    assert choose_starter("whisper-tiny.en", 40000, "v2", folder).g is None
    absent = choose_starter("whisper-tiny.en", 32000, "v2", tmp_path / "nothing")
    assert absent.g is None and "G.pth, D.pth missing" in absent.why


def test_quickstart_picks_the_starter_offline_and_trains_from_scratch_without_it(starter, tmp_path):
    from arvc.stages.quickstart import QuickstartConfig, choose_pretrains

    g, d, why, size = choose_pretrains(QuickstartConfig(offline=True, starter_pretrain=starter.g.parent),
                                       "whisper-tiny.en")
    assert (g, d, size) == (str(starter.g), str(starter.d), "small") and why.startswith("starter pretrain")
    g, _, why, _ = choose_pretrains(QuickstartConfig(offline=True, starter_pretrain=tmp_path), "whisper-tiny.en")
    assert g is None and "missing" in why and why.endswith("training from scratch")
    g, _, why, _ = choose_pretrains(QuickstartConfig(offline=True, from_scratch=True,
                                                     starter_pretrain=starter.g.parent), "whisper-tiny.en")
    assert g is None and why.startswith("--from_scratch")


def _mel_after_five_steps(tmp_path, name: str, pretrain=None) -> tuple[float, object]:
    """loss/g/mel at step 5 of the quickstart's fine-tune (one speaker, its learning rates) on fixed batches."""
    from arvc.data import TrainingDataset, read_filelist
    from arvc.training.runtime import make_accelerator
    from arvc.experiment import ExperimentInfo
    from arvc.stages.quickstart import FINETUNE_LR, SCRATCH_LR
    from arvc.stages.train import resolve_model_config
    from arvc.training.loop import Trainer

    logs = tmp_path / "logs"
    root = make_experiment(logs / name, n_items=8, seconds=0.6, sample_rate=STARTER.sample_rate, seed=11)
    cfg = _cfg(name, logs, pretrained_g=str(pretrain.g) if pretrain else None,
               pretrained_d=str(pretrain.d) if pretrain else None, from_scratch=pretrain is None,
               learning_rate=FINETUNE_LR if pretrain else SCRATCH_LR)
    mc = resolve_model_config(cfg, ExperimentInfo.read(root / "model_info.json"), n_speakers=1)
    ds = TrainingDataset(read_filelist(root / "filelist.txt"), sample_rate=mc.sample_rate, hop=mc.hop_length,
                         spec_channels=mc.spec_channels, content_dim=mc.content_dim)
    accelerator, precision, _ = make_accelerator(None, "fp32")
    torch.manual_seed(0)
    trainer = Trainer(cfg, mc, ds, ExperimentPaths.of(name, logs), accelerator, precision=precision)
    batches = list(trainer.batches(1))
    torch.manual_seed(1)
    losses = [trainer.train_step([batches[i % len(batches)]]) for i in range(5)]
    return losses[-1]["loss/g/mel"], trainer


def test_fine_tune_from_the_starter_fits_the_quickstart_model_and_learns_faster(starter, tmp_path):
    from arvc.formats import load_checkpoint

    scratch, _ = _mel_after_five_steps(tmp_path, "scratch")
    tuned, trainer = _mel_after_five_steps(tmp_path, "tuned", starter)
    print(f"loss/g/mel at step 5: from the starter {tuned:.3f}, from scratch {scratch:.3f}")
    assert tuned < scratch, (tuned, scratch)
    emb = trainer.net_g.state_dict()["emb_g.weight"]
    assert emb.shape[0] == 1  # the one-speaker fine-tune keeps the pretrain's speaker 0 as its start
    pre = load_checkpoint(starter.g).model["emb_g.weight"]
    assert pre.shape == (3, emb.shape[1])


def test_quickstart_fine_tunes_from_the_starter_and_names_it(starter, tmp_path, voices_dir):
    import shutil

    from arvc.formats import read_model
    from arvc.stages.quickstart import QuickstartConfig, quickstart

    voices = tmp_path / "voices"
    for sub, names in (("slt", ["slt_01", "slt_02", "slt_03", "slt_04"]), ("slt_test", ["slt_51"]),
                       ("kal", ["kal_51"])):
        (voices / sub).mkdir(parents=True)
        for n in names:
            shutil.copy(voices_dir / sub / f"{n}.flac", voices / sub)
    shutil.copy(voices_dir / "sentences.txt", voices)
    res = quickstart(QuickstartConfig(offline=True, voices=voices, logs_dir=str(tmp_path / "logs"),
                                      output_dir=tmp_path / "out", epochs=1, rank_last=0, cpu_cores=1,
                                      starter_pretrain=starter.g.parent))
    assert res.used_pretrains and res.pretrains.startswith("starter pretrain starter_whisper_fcpe_v2_32k_small")
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["pretrains"] == res.pretrains
    assert read_model(res.model).metadata.pretrain == "pretrain/G.pth / pretrain/D.pth"


def _shipped():
    """The starter pretrain committed under assets/pretrains, or None while it is not in the repository."""
    choice = choose_starter(STARTER.embedder, STARTER.sample_rate, STARTER.version)
    return choice if choice.g is not None else None


@pytest.mark.skipif(_shipped() is None, reason="the starter pretrain's weights are not in the repository")
def test_the_shipped_starter_loads_safely_fits_the_quickstart_and_learns_faster(tmp_path):
    from arvc.formats.safe_load import safe_torch_load
    from arvc.training.pretrain_export import sha256

    shipped = _shipped()
    manifest = json.loads((shipped.g.parent / "pretrain.json").read_text())
    for path in (shipped.g, shipped.d):
        assert manifest["files"][path.name]["sha256"] == sha256(path)
        raw = safe_torch_load(path, what="checkpoint")
        assert all(v.dtype == torch.float16 for v in raw["model"].values() if v.is_floating_point())
    assert shipped.model_size == "small" and manifest["speakers"] > 1
    scratch, _ = _mel_after_five_steps(tmp_path, "scratch")
    tuned, _ = _mel_after_five_steps(tmp_path, "tuned", shipped)  # builds the quickstart's model, loads G and D
    print(f"loss/g/mel at step 5: from the shipped starter {tuned:.3f}, from scratch {scratch:.3f}")
    assert tuned < scratch, (tuned, scratch)
