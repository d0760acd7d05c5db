"""Test helpers: the so-vits parity fixture's folder and tiny random so-vits voices written by arvc's model code."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch

FIXTURE = Path(__file__).parent / "fixtures" / "sovits"

CONFIG_41 = {
    "train": {"segment_size": 10240},
    "data": {"sampling_rate": 44100, "filter_length": 2048, "hop_length": 512, "unit_interpolate_mode": "left"},
    "model": {"inter_channels": 8, "hidden_channels": 16, "filter_channels": 32, "n_heads": 2, "n_layers": 2,
              "kernel_size": 3, "p_dropout": 0.1, "resblock": "1", "resblock_kernel_sizes": [3, 7, 11],
              "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]], "upsample_rates": [8, 8, 2, 2, 2],
              "upsample_initial_channel": 32, "upsample_kernel_sizes": [16, 16, 4, 4, 4], "n_layers_q": 3,
              "n_layers_trans_flow": 3, "n_flow_layer": 3, "use_spectral_norm": False, "gin_channels": 16,
              "ssl_dim": 256, "n_speakers": 3, "vocoder_name": "nsf-hifigan", "speech_encoder": "vec256l9",
              "speaker_embedding": False, "vol_embedding": True, "use_depthwise_conv": False,
              "flow_share_parameter": True, "use_automatic_f0_prediction": True, "use_transformer_flow": False},
    "spk": {"ann": 0, "ben": 2},
}


def config_41(**model_changes) -> dict:
    cfg = copy.deepcopy(CONFIG_41)
    cfg["model"].update(model_changes)
    return cfg


def randomize(net: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Every parameter re-drawn (so the flow is no identity and the decoder is audible)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            fan_in = max(p[0].numel(), 1) if p.dim() > 1 else 1
            scale = 0.02 if p.dim() == 1 and not name.endswith("weight_g") else 1.0 / fan_in ** 0.5
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
            if name.endswith("weight_g"):
                p.abs_().add_(0.5)
    return net


def write_voice(folder: Path, config: dict, seed: int = 0, extra: dict | None = None) -> Path:
    """A so-vits voice folder (``config.json`` + ``G_100.pth`` in the checkpoint layout) from arvc's own model,
    with stand-in training-only tensors (``enc_q``, ``f0_decoder``) and an optimizer entry, as trainers save."""
    from arvc.models.sovits import SovitsSynthesizer
    from arvc.models.sovits_config import SovitsConfig

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    net = randomize(SovitsSynthesizer(SovitsConfig.from_dict(config)), seed)
    state = dict(net.state_dict())
    state["enc_q.pre.weight"] = torch.zeros(16, 1025, 1)
    state["f0_decoder.proj.weight"] = torch.zeros(1, 16, 1)
    ckpt = {"model": state, "iteration": 100, "optimizer": {"state": {}, "param_groups": []}, "learning_rate": 1e-4}
    ckpt.update(extra or {})
    torch.save(ckpt, folder / "G_100.pth")
    return folder
