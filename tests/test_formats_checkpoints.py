"""G_/D_ checkpoints: Applio layout, mainline and bare pretrains, weight-norm key renaming, safetensors."""

from __future__ import annotations

import json
from collections import OrderedDict

import pytest
import torch
from torch import nn

from arvc.errors import ArvcError
from arvc.formats import Checkpoint, load_checkpoint, load_safetensors, save_checkpoint, save_safetensors
from arvc.formats.naming import to_module_names


pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny_net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv1d(2, 3, 3), nn.Conv1d(3, 1, 1))
    net[0] = torch.nn.utils.parametrizations.weight_norm(net[0])  # the new-style names
    return net


def _adamw_state(net):
    """An AdamW state dict as torch writes it (built by hand: constructing an optimizer imports torch._dynamo)."""
    params = list(net.parameters())
    state = {i: {"step": torch.tensor(1.0), "exp_avg": torch.randn_like(p), "exp_avg_sq": torch.rand_like(p)}
             for i, p in enumerate(params)}
    group = {"lr": 1e-4, "betas": (0.8, 0.99), "eps": 1e-9, "weight_decay": 0.01, "amsgrad": False,
             "maximize": False, "foreach": None, "capturable": False, "differentiable": False, "fused": None,
             "decoupled_weight_decay": True, "params": list(range(len(params)))}
    return {"state": state, "param_groups": [group]}


def test_applio_layout_and_round_trip(tmp_path, specs_dir):
    spec = json.loads((specs_dir / "rvc_checkpoints.json").read_text())["G"]["top_level"]
    net = _tiny_net()
    opt_state = _adamw_state(net)
    scaler = {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000, "_growth_tracker": 0}
    p = save_checkpoint(tmp_path / "G_7.pth", net.state_dict(), opt_state, 1e-4, 7, scaler)
    raw = torch.load(p, weights_only=True)
    assert list(raw) == list(spec)
    assert {k: type(v).__name__ for k, v in raw.items()} == {k: v["type"] for k, v in spec.items()}
    assert "0.weight_g" in raw["model"] and "0.weight_v" in raw["model"]
    assert not any("parametrizations" in k for k in raw["model"])

    ck = load_checkpoint(p)
    assert (ck.iteration, ck.learning_rate, ck.scaler) == (7, 1e-4, scaler)
    assert list(ck.model) == list(raw["model"])
    # back into a parametrized module: identical tensors; optimizer state identical
    fresh = _tiny_net()
    with torch.no_grad():
        for p in fresh.parameters():
            p.zero_()
    fresh.load_state_dict(to_module_names(ck.model, fresh.state_dict().keys()))
    for (ka, a), (kb, b) in zip(net.state_dict().items(), fresh.state_dict().items()):
        assert ka == kb and torch.equal(a, b)
    assert ck.optimizer["param_groups"] == opt_state["param_groups"]
    s1, s2 = opt_state["state"], ck.optimizer["state"]
    assert all(torch.equal(s1[i][k], s2[i][k]) for i in s1 for k in s1[i])


def test_real_generator_and_discriminator_checkpoints(tmp_path, specs_dir):
    """G_ of a Synthesizer and D_ of the v2 MultiPeriodDiscriminator: Applio's layout, the spec's D names and
    shapes, float32, and a strict load back into fresh modules (also from new-style weight-norm names)."""
    from arvc.formats.naming import to_parametrized_key
    from arvc.models.config import ModelConfig
    from arvc.models.discriminators import MultiPeriodDiscriminator
    from arvc.models.synthesizer import Synthesizer

    spec = json.loads((specs_dir / "rvc_checkpoints.json").read_text())
    d_spec = json.loads((specs_dir / "rvc_discriminators.json").read_text())["v2"]
    torch.manual_seed(0)
    cfg = ModelConfig.tiny()
    nets = {"G": Synthesizer(cfg)}
    with torch.device("meta"):  # full-size (71 M parameters): allocate without running the initialisers
        disc = MultiPeriodDiscriminator("v2")
    disc = disc.to_empty(device="cpu")
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for t in disc.state_dict().values():
            t.copy_(torch.randn(t.shape, generator=g))
    nets["D"] = disc
    for kind, net in nets.items():
        state = net.state_dict()
        opt = _adamw_state(net) if kind == "G" else None
        path = save_checkpoint(tmp_path / f"{kind}_5.pth", state, opt, 1e-4, 5)
        raw = torch.load(path, weights_only=True)
        assert list(raw) == list(spec[kind]["top_level"])
        types = {k: v["type"] for k, v in spec[kind]["top_level"].items()}
        if opt is None:  # D is saved without optimizer state here (its AdamW moments would take another 570 MB)
            types["optimizer"] = "NoneType"
        assert {k: type(v).__name__ for k, v in raw.items()} == types
        assert list(raw["model"]) == list(state) and all(t.dtype == torch.float32 for t in raw["model"].values())
        if kind == "D":
            assert [[k, list(t.shape)] for k, t in raw["model"].items()] == d_spec["state_dict"]
            assert len(raw["model"]) == spec["D"]["model"]["n_entries"]
        else:
            assert len(raw["optimizer"]["state"]) == len(list(net.parameters()))
        ck = load_checkpoint(path)
        assert ck.kind == kind and ck.iteration == 5 and ck.learning_rate == 1e-4 and ck.scaler == {}
        if kind == "D":
            assert list(ck.model) == list(state)
            continue
        fresh = Synthesizer(cfg)
        fresh.load_state_dict(to_module_names(ck.model, fresh.state_dict().keys()), strict=True)
        assert all(torch.equal(a, b) for a, b in zip(state.values(), fresh.state_dict().values()))
        # a client that saved parametrization names: read back as the legacy names, same tensors
        renamed = tmp_path / f"{kind}_new_names.pth"
        new_names = OrderedDict((to_parametrized_key(k), v) for k, v in raw["model"].items())
        assert sum(".parametrizations.weight.original1" in k for k in new_names) > 10
        torch.save({"model": new_names, "iteration": 5}, renamed)
        again = load_checkpoint(renamed)
        assert list(again.model) == list(state)
        assert all(torch.equal(again.model[k], v) for k, v in state.items())


def test_mainline_and_bare_pretrains(tmp_path):
    net = _tiny_net()
    legacy = OrderedDict((k.replace(".parametrizations.weight.original0", ".weight_g")
                          .replace(".parametrizations.weight.original1", ".weight_v"), v)
                         for k, v in net.state_dict().items())
    mainline = tmp_path / "G_mainline.pth"
    torch.save({"model": legacy, "iteration": 3, "optimizer": _adamw_state(net), "learning_rate": 2e-4}, mainline)
    ck = load_checkpoint(mainline)
    assert (ck.iteration, ck.learning_rate, ck.scaler) == (3, 2e-4, None) and ck.optimizer is not None

    bare = tmp_path / "f0G40k.pth"
    torch.save({"model": OrderedDict(("module." + k, v) for k, v in legacy.items())}, bare)
    ck = load_checkpoint(bare)
    assert list(ck.model) == list(legacy) and ck.optimizer is None and ck.learning_rate is None and ck.iteration == 0

    plain = tmp_path / "plain.pth"
    torch.save(legacy, plain)
    assert list(load_checkpoint(plain).model) == list(legacy)


def test_kind_and_bad_checkpoints(tmp_path, fixtures_dir):
    assert Checkpoint(model={"enc_p.x": torch.zeros(1)}).kind == "G"
    assert Checkpoint(model={"discriminators.0.convs.0.bias": torch.zeros(1)}).kind == "D"
    with pytest.raises(ArvcError, match="inference model"):
        load_checkpoint(fixtures_dir / "synth_tiny_v2_40k" / "model.pth")
    p = tmp_path / "G_1.pth"
    torch.save({"iteration": 1, "learning_rate": 1e-4}, p)
    with pytest.raises(ArvcError, match="no 'model'"):
        load_checkpoint(p)
    torch.save({"model": {"a": torch.zeros(1)}, "optimizer": {"foo": 1}}, p)
    with pytest.raises(ArvcError, match="optimizer"):
        load_checkpoint(p)


def test_safetensors_round_trip_and_errors(tmp_path):
    tensors = OrderedDict([("z.b", torch.arange(6, dtype=torch.float16).view(2, 3)), ("a.w", torch.randn(4))])
    meta = {"config": [1025, 32, "1", [3, 7]], "sr": 40000, "f0": True, "model_name": "ü"}
    p = save_safetensors(tmp_path / "m.safetensors", tensors, {**meta, "weight_order": list(tensors)})
    got, got_meta = load_safetensors(p)
    assert list(got) == list(tensors) and all(torch.equal(got[k], v) for k, v in tensors.items())
    assert got_meta == meta
    from safetensors import safe_open

    with safe_open(str(p), framework="pt") as f:  # header values are JSON strings
        assert f.metadata()["config"] == json.dumps(meta["config"])
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(p.read_bytes()[:40])
    with pytest.raises(ArvcError, match="safetensors"):
        load_safetensors(cut)
