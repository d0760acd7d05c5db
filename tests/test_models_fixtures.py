"""Numerical parity with Applio's own outputs on the tiny synthesizer fixtures (fixtures/README.md)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arvc.models.config import ModelConfig
from arvc.models.synthesizer import Synthesizer

FIXTURES = ["synth_tiny_v2_40k", "synth_tiny_mrf_v2_40k"]


def _load(fixtures_dir, name):
    """Through ``arvc.formats.load_synthesizer`` (the project's loader)."""
    from arvc.formats import load_synthesizer

    folder = fixtures_dir / name
    model, _ = load_synthesizer(folder / "model.pth")
    inputs = np.load(folder / "inputs.npz")
    args = [torch.from_numpy(inputs[k]) for k in ("phone", "phone_lengths", "pitch", "pitchf", "sid")]
    reference = np.load(folder / "reference_infer.npy")
    intermediates = dict(np.load(folder / "reference_intermediates.npz"))
    return model, args, reference, intermediates


@pytest.fixture(scope="module", params=FIXTURES)
def fixture(request, fixtures_dir):
    return _load(fixtures_dir, request.param)


def _max_err(a: torch.Tensor, b: np.ndarray) -> float:
    assert tuple(a.shape) == b.shape
    return float(np.abs(a.detach().numpy() - b).max())


def test_deterministic_infer_matches_applio(fixture):
    model, args, reference, inter = fixture
    model.set_deterministic(True)
    try:
        audio, x_mask, (z, z_p, m_p, logs_p) = model.infer(*args, noise_scale=0.0)
        with torch.no_grad():
            har = model.dec.source(args[3])
    finally:
        model.set_deterministic(False)
    assert _max_err(m_p, inter["m_p"]) <= 1e-4
    assert _max_err(logs_p, inter["logs_p"]) <= 1e-4
    assert _max_err(x_mask, inter["x_mask"]) == 0
    assert _max_err(z, inter["z"]) <= 1e-4
    assert _max_err(har, inter["har_source"]) <= 1e-6
    assert _max_err(audio, reference) <= 1e-4


def test_zero_noise_convention_matches_applio(fixture, monkeypatch):
    """Default (random) code path with torch's RNG entry points patched to zeros, as the fixtures were made."""
    model, args, reference, _ = fixture

    def zeros(*size, **kw):
        kw.pop("generator", None)
        if len(size) == 1 and isinstance(size[0], (list, tuple, torch.Size)):
            size = tuple(size[0])
        return torch.zeros(*size, **kw)

    def zeros_like(x, **kw):
        return torch.zeros_like(x, **kw)

    calls = []
    monkeypatch.setattr(torch, "rand", lambda *s, **k: calls.append("rand") or zeros(*s, **k))
    monkeypatch.setattr(torch, "randn", lambda *s, **k: calls.append("randn") or zeros(*s, **k))
    monkeypatch.setattr(torch, "rand_like", lambda x, **k: calls.append("rand_like") or zeros_like(x, **k))
    monkeypatch.setattr(torch, "randn_like", lambda x, **k: calls.append("randn_like") or zeros_like(x, **k))
    audio = model.infer(*args)[0]
    assert "randn_like" in calls
    assert _max_err(audio, reference) <= 1e-4


def test_noise_changes_output(fixture):
    model, args, reference, _ = fixture
    torch.manual_seed(0)
    audio = model.infer(*args)[0]
    assert _max_err(audio, reference) > 1e-3


def test_plain_torch_load_builds_the_same_model(fixtures_dir):
    """Without the formats package: the file's own names load strictly into ``Synthesizer(cfg)``."""
    folder = fixtures_dir / "synth_tiny_mrf_v2_40k"
    ckpt = torch.load(folder / "model.pth", map_location="cpu", weights_only=True)
    cfg = ModelConfig.from_list(ckpt["config"], version=ckpt["version"], use_f0=bool(ckpt["f0"]),
                                vocoder=ckpt["vocoder"])
    assert cfg.to_list() == ckpt["config"]
    model = Synthesizer(cfg).remove_posterior()
    model.load_state_dict(ckpt["weight"], strict=True)
    model = model.float().eval().set_deterministic(True)
    assert model.dec.conv_post.weight_g.dtype == torch.float32
    inputs = np.load(folder / "inputs.npz")
    args = [torch.from_numpy(inputs[k]) for k in ("phone", "phone_lengths", "pitch", "pitchf", "sid")]
    audio = model.infer(*args, noise_scale=0.0)[0]
    assert _max_err(audio, np.load(folder / "reference_infer.npy")) <= 1e-4


def test_remove_weight_norm_keeps_output(fixture):
    model, args, reference, _ = fixture
    import copy

    folded = copy.deepcopy(model).remove_weight_norm().set_deterministic(True)
    assert not any(k.endswith("weight_g") for k in folded.state_dict())
    audio = folded.infer(*args, noise_scale=0.0)[0]
    assert _max_err(audio, reference) <= 1e-4
