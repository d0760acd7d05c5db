"""The training loop on tiny models and synthetic extracted data (in-process, one CPU thread)."""

from __future__ import annotations

import math

import pytest
import torch

from _training_data import make_experiment
from arvc.data import TrainingDataset, collate, read_filelist
from arvc.errors import ArvcError
from arvc.paths import ExperimentPaths
from arvc.training.config import TrainConfig
from arvc.training.overtrain import OvertrainDetector
from arvc.training.state import StopReason

pytestmark = pytest.mark.usefixtures("one_thread")


def _cfg(name: str, logs, **kw) -> TrainConfig:
    base = dict(model_name=name, logs_dir=str(logs), model_size="tiny", batch_size=4, progress=False, log_every=1,
                from_scratch=True)
    base.update(kw)
    return TrainConfig(**base)


def test_train_losses_fall_and_everything_is_written(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from arvc.formats import load_synthesizer, read_model
    from arvc.stages.train import train

    logs = tmp_path / "logs"
    make_experiment(logs / "voice", n_items=8, seconds=0.5)
    r = train(_cfg("voice", logs, epochs=8, save_every=4, learning_rate=1e-3, save_every_weights=True,
                   overtrain_detect=True, overtrain_threshold=100))
    assert (r.epoch, r.step) == (8, 16)
    first, last = r.first_epoch_losses["loss/g/mel"], r.last_epoch_losses["loss/g/mel"]
    assert last < 0.85 * first, (first, last)  # typically ~-35 % in 8 epochs
    assert r.last_epoch_losses["loss/g/kl"] < r.first_epoch_losses["loss/g/kl"]
    paths = ExperimentPaths.of("voice", logs)
    for e in (4, 8):
        assert paths.g_checkpoint(e).is_file() and paths.d_checkpoint(e).is_file()
        assert paths.weights(e, 2 * e).is_file()
    model = read_model(r.weights)
    assert model.metadata.embedder_model == "contentvec" and model.metadata.epoch == 8 and model.metadata.step == 16
    assert model.metadata.dataset_length == "0h 0m 5s"
    assert "no overtraining detected" in model.metadata.overtrain_info
    net, _ = load_synthesizer(r.weights)
    phone = torch.randn(1, 40, 768)
    audio = net.infer(phone, torch.tensor([40]), torch.full((1, 40), 60), torch.full((1, 40), 150.0),
                      torch.tensor([0]))[0]
    assert audio.shape == (1, 1, 40 * 400) and torch.isfinite(audio).all()

    acc = EventAccumulator(str(paths.eval_dir), size_guidance={"scalars": 0, "images": 0, "audio": 0})
    acc.Reload()
    tags = acc.Tags()
    for tag in ("loss/g/total", "loss/g/fm", "loss/g/mel", "loss/g/kl", "loss/d/total", "loss/g/gen",
                "grad/norm_g", "grad/norm_d", "learning_rate"):
        assert tag in tags["scalars"], tag
    assert len(acc.Scalars("loss/g/mel")) == 16
    assert {"slice/mel_org", "slice/mel_gen"} <= set(tags["images"])
    assert "audio/reference_gen" in tags["audio"]


def test_time_budget_stops_saves_and_resumes(tmp_path):
    from arvc.formats import read_model
    from arvc.stages.train import train

    logs = tmp_path / "logs"
    make_experiment(logs / "budget", n_items=8, seconds=0.5)
    r = train(_cfg("budget", logs, epochs=50, save_every=100, max_minutes=1e-6))
    assert r.step == 1 and r.epoch == 1 and "time budget" in r.stop_reason and r.stop is StopReason.TIME_BUDGET
    assert read_model(r.weights).metadata.step == 1
    assert ExperimentPaths.of("budget", logs).g_checkpoint(1).is_file()
    again = train(_cfg("budget", logs, epochs=50, save_every=100, max_minutes=1e-6))
    assert (again.epoch, again.step) == (2, 2)  # resumed from epoch 1, one more step


def test_small_model_size_builds_and_steps(tmp_path):
    from arvc.models.config import ModelConfig
    from arvc.stages.train import train

    mc = ModelConfig.for_size("small", sample_rate=32000)
    assert mc.hop_length == 320 and mc.hidden_channels < ModelConfig.preset().hidden_channels
    with pytest.raises(ArvcError, match="choices: full, small, tiny"):
        ModelConfig.for_size("medium")
    logs = tmp_path / "logs"
    make_experiment(logs / "small", n_items=4, seconds=0.5, sample_rate=32000)
    r = train(_cfg("small", logs, model_size="small", max_steps=1, epochs=1))
    assert r.step == 1 and math.isfinite(r.last_epoch_losses["loss/g/total"])


def _equal_item_trainer(tmp_path, name: str):
    """A Trainer over 4 equal-length items whose length is the segment (deterministic windows)."""
    from arvc.models.config import ModelConfig
    from arvc.training.loop import Trainer

    logs = tmp_path / "logs"
    root = make_experiment(logs / name, n_items=4, seconds=0.2, equal_lengths=True)
    ds = TrainingDataset(read_filelist(root / "filelist.txt"), sample_rate=40000, hop=400, spec_channels=1025,
                         content_dim=768)
    frames = ds[0].frames
    mc = ModelConfig.tiny(segment_size=frames * 400)
    torch.manual_seed(0)
    # plain SGD: the update is proportional to the gradient (Adam's first steps are ~lr * sign(g))
    from arvc.training.runtime import make_accelerator

    accelerator, precision, _ = make_accelerator(None, "fp32")  # resets accelerate's shared state (from a bf16 run)
    assert precision == "fp32" and accelerator.mixed_precision == "no"
    trainer = Trainer(_cfg(name, logs), mc, ds, ExperimentPaths.of(name, logs), accelerator,
                      optimizer_factory=lambda params: torch.optim.SGD(params, lr=1e-2))
    trainer.net_g.set_deterministic(True)
    return trainer, collate([ds[i] for i in range(4)])


def test_gradient_accumulation_equals_bigger_batch(tmp_path, monkeypatch):
    monkeypatch.setattr(torch, "randn_like", lambda x, **kw: torch.zeros_like(x))  # posterior sampling noise off
    big, batch = _equal_item_trainer(tmp_path, "big")
    acc, _ = _equal_item_trainer(tmp_path, "acc")
    _initial, _ = _equal_item_trainer(tmp_path, "init")
    for p, q in zip(big.net_g.parameters(), acc.net_g.parameters()):
        assert torch.equal(p, q)
    for _ in range(2):
        lb = big.train_step([batch])
        la = acc.train_step(batch.split(2))
        for key in ("loss/d/total", "loss/g/mel", "loss/g/kl", "loss/g/fm", "grad/norm_g", "grad/norm_d"):
            assert la[key] == pytest.approx(lb[key], rel=2e-4, abs=1e-6), key
    for net in ("net_g", "net_d"):
        diff = max((p - q).abs().max().item() for p, q in zip(getattr(big, net).parameters(),
                                                              getattr(acc, net).parameters()))
        moved = max((p - q).abs().max().item() for p, q in zip(getattr(big, net).parameters(),
                                                               getattr(_initial, net).parameters()))
        assert diff < 1e-3 * moved, (net, diff, moved)


def test_bf16_adamw_runs_on_cpu(tmp_path):
    from arvc.stages.train import train
    from arvc.training.optimizers import AnyPrecisionAdamW

    logs = tmp_path / "logs"
    make_experiment(logs / "bf", n_items=4, seconds=0.4)
    seen = {}
    import arvc.training.loop as loop

    original = loop.Trainer.train_step

    def spy(self, batches):
        seen["optim"] = type(getattr(self.optim_g, "optimizer", self.optim_g))
        seen["mp"] = self.accelerator.mixed_precision
        out = original(self, batches)
        inner = getattr(self.optim_g, "optimizer", self.optim_g)
        seen["dtypes"] = {v.dtype for st in inner.state.values() for k, v in st.items()
                          if isinstance(v, torch.Tensor) and v.dim() > 0}
        return out

    loop.Trainer.train_step = spy
    try:
        r = train(_cfg("bf", logs, epochs=1, bf16_adamw=True, fast_train=True, checkpointing=True, save_every=1,
                      energy_use=True))
    finally:
        loop.Trainer.train_step = original
    assert r.step == 1 and math.isfinite(r.last_epoch_losses["loss/g/total"])
    assert r.last_epoch_losses["loss/g/energy"] > 0
    assert seen["optim"] is AnyPrecisionAdamW and seen["mp"] == "bf16"
    assert torch.bfloat16 in seen["dtypes"]


@pytest.mark.parametrize("optimizer,scheduler", [
    ("AdamW", "exponential"), ("RAdam", "cosine"), ("AnyPrecisionAdamW", "inverse_sqrt"), ("AdaBelief", None),
    ("AdaBeliefV2", None), ("AdamW8bit", "exponential"),
])
def test_each_optimizer_and_scheduler_trains_the_model(tmp_path, optimizer, scheduler):
    """Every registry entry drives the real training loop: 3 epochs of 1 step, finite losses, the LR follows
    the schedule (the optimizer's own pairing when none is given), the checkpoint keeps its optimizer state."""
    from arvc.formats import load_checkpoint
    from arvc.stages.train import train
    from arvc.training.optimizers import default_scheduler_for
    from arvc.training.schedulers import ScheduleConfig, lr_at

    logs = tmp_path / "logs"
    make_experiment(logs / "opt", n_items=4, seconds=0.4, equal_lengths=True)
    cfg = _cfg("opt", logs, epochs=3, save_every=3, learning_rate=1e-3, warmup_epochs=1,
               **({"use_8bit_adam": True} if optimizer == "AdamW8bit" else {"optimizer": optimizer}),
               scheduler=scheduler)
    r = train(cfg)
    assert r.step == 3 and math.isfinite(r.last_epoch_losses["loss/g/total"])
    name = scheduler or default_scheduler_for(optimizer)
    ckpt = load_checkpoint(ExperimentPaths.of("opt", logs).g_checkpoint(3))
    expected = lr_at(name, 3, 1e-3, ScheduleConfig(epochs=3, gamma=cfg.lr_decay, warmup_epochs=1))
    assert ckpt.optimizer["param_groups"][0]["lr"] == pytest.approx(expected, rel=1e-6), name
    assert ckpt.optimizer["state"], "optimizer state saved"


def test_nonfinite_losses_skip_then_stop_keeping_last_checkpoint(tmp_path, monkeypatch):
    from arvc.formats import load_checkpoint
    from arvc.stages.train import train
    import arvc.training.loop as loop

    logs = tmp_path / "logs"
    make_experiment(logs / "nan", n_items=8, seconds=0.4)
    r = train(_cfg("nan", logs, epochs=1, save_every=1, cache_data_in_gpu=True))
    paths = ExperimentPaths.of("nan", logs)
    before = paths.g_checkpoint(1).read_bytes()
    real = loop.generator_losses

    def poisoned(**kw):
        out = real(**kw)
        out["loss/g/total"] = out["loss/g/total"] * float("nan")
        return out

    monkeypatch.setattr(loop, "generator_losses", poisoned)
    r = train(_cfg("nan", logs, epochs=3, save_every=1, max_nonfinite_steps=2))
    assert "non-finite" in r.stop_reason and r.stop is StopReason.NON_FINITE and r.weights is None
    assert paths.g_checkpoint(1).read_bytes() == before and not paths.g_checkpoint(2).exists()
    assert load_checkpoint(paths.g_checkpoint(1)).iteration == 1


def test_pretrain_checks_and_speaker_resize(tmp_path):
    from arvc.formats import save_checkpoint
    from arvc.models.config import ModelConfig
    from arvc.models.synthesizer import Synthesizer
    from arvc.training.checkpointing import load_pretrained

    src = Synthesizer(ModelConfig.tiny(spk_embed_dim=2))
    path = tmp_path / "G_pre.pth"
    save_checkpoint(path, src.state_dict(), None, 1e-4, 0)
    dst = Synthesizer(ModelConfig.tiny(spk_embed_dim=5))
    load_pretrained(dst, path, "G", "v2 40000 Hz HiFi-GAN")
    assert torch.equal(dst.emb_g.weight[:2], src.emb_g.weight)
    assert torch.equal(dst.enc_p.emb_phone.weight, src.enc_p.emb_phone.weight)
    with pytest.raises(ArvcError, match="another sample rate or vocoder"):
        load_pretrained(Synthesizer(ModelConfig.tiny(sample_rate=48000)), path, "G", "v2 48000 Hz HiFi-GAN")
    with pytest.raises(ArvcError, match="v2 model .* this run trains v1"):
        load_pretrained(Synthesizer(ModelConfig.tiny(version="v1")), path, "G", "v1 40000 Hz HiFi-GAN")
    with pytest.raises(ArvcError, match="vocoder layout"):
        load_pretrained(Synthesizer(ModelConfig.tiny(vocoder="MRF HiFi-GAN")), path, "G", "v2 40000 Hz MRF HiFi-GAN")
    with pytest.raises(ArvcError, match="expected D"):
        load_pretrained(torch.nn.Linear(1, 1), path, "D", "x")


def test_overtrain_detector():
    det = OvertrainDetector(threshold=3, smoothing=0.0)
    assert not any(det.update(e, loss) for e, loss in enumerate([5.0, 4.0, 3.0], 1))
    assert [det.update(e, 3.5) for e in (4, 5, 6)] == [False, False, True]
    assert det.best_epoch == 3 and "overtraining detected at epoch 6" in det.summary()
    clone = OvertrainDetector(threshold=3)
    clone.load_state_dict(det.state_dict())
    assert clone.best == 3.0 and clone.since_best == 3 and clone.triggered


def test_seed_command_flags_parse():
    from arvc.api.cli import build_parser

    parser, cmd = build_parser("train")
    args = parser.parse_args("my_model --fast_train true --bf16_adamw true --epochs 300 --batch_size 4 "
                             "--multiscale_loss --cosine_lr --overtrain_detect --overtrain_threshold 50 "
                             "--save_every 25 --gpu 0".split())
    cfg = cmd.config_from_args(args)
    assert (cfg.fast_train, cfg.bf16_adamw, cfg.multiscale_loss, cfg.cosine_lr, cfg.overtrain_detect) == (True,) * 5
    assert (cfg.epochs, cfg.batch_size, cfg.overtrain_threshold, cfg.save_every, cfg.gpu) == (300, 4, 50, 25, "0")
    assert cfg.model_size == "full"
    args = parser.parse_args(["m", "--fast_train", "false", "--multiscale_loss", "false"])
    assert cmd.config_from_args(args).fast_train is False and cmd.config_from_args(args).multiscale_loss is False
