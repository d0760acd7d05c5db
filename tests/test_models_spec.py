"""Every RVC configuration of specs/rvc_models.json and every discriminator set of
specs/rvc_discriminators.json is rebuilt (on the meta device) and compared name by name."""

from __future__ import annotations

import json

import pytest
import torch

from arvc.models.config import ModelConfig
from arvc.models.discriminators import MultiPeriodDiscriminator
from arvc.models.synthesizer import Synthesizer


def _model_specs(specs_dir):
    data = json.loads((specs_dir / "rvc_models.json").read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


MODEL_KEYS = [
    "v2_32k_hifigan_nsf_f0", "v2_40k_hifigan_nsf_f0", "v2_48k_hifigan_nsf_f0", "v2_40k_hifigan_nof0",
    "v2_40k_refinegan_f0", "v2_40k_mrf_hifigan_f0", "v1_40k_hifigan_nsf_f0", "v1_48k_hifigan_nsf_f0",
]


def test_spec_lists_every_key(specs_dir):
    assert sorted(_model_specs(specs_dir)) == sorted(MODEL_KEYS)


def _vocoder_of(entry) -> str:
    return "HiFi-GAN" if entry["vocoder"].startswith("HiFi-GAN") else entry["vocoder"]


@pytest.mark.parametrize("key", MODEL_KEYS)
def test_synthesizer_matches_spec(specs_dir, key):
    entry = _model_specs(specs_dir)[key]
    cfg = ModelConfig.from_list(entry["config"], version=entry["version"], use_f0=entry["f0"],
                                vocoder=_vocoder_of(entry))
    assert cfg.to_list() == entry["config"]
    assert cfg.hop_length == entry["hop_length"]
    assert cfg.content_dim == entry["text_enc_hidden_dim"]
    with torch.device("meta"):
        model = Synthesizer(cfg)
    state = model.state_dict()
    assert [[k, list(v.shape)] for k, v in state.items()] == entry["generator_full"]
    inference = [[k, list(v.shape)] for k, v in state.items() if "enc_q" not in k]
    assert inference == [[name, shape] for name, shape, _ in entry["inference_weight"]]
    assert sum(v.numel() for k, v in state.items() if "enc_q" not in k) == entry["inference_weight_n_params"]


@pytest.mark.parametrize("key", MODEL_KEYS)
def test_preset_reproduces_config_list(specs_dir, key):
    entry = _model_specs(specs_dir)[key]
    cfg = ModelConfig.preset(entry["version"], entry["sample_rate"], _vocoder_of(entry), use_f0=entry["f0"])
    assert cfg.to_list() == entry["config"]


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_discriminator_matches_spec(specs_dir, version):
    entry = json.loads((specs_dir / "rvc_discriminators.json").read_text())[version]
    with torch.device("meta"):
        disc = MultiPeriodDiscriminator(version)
    assert disc.periods == entry["periods"]
    assert [[k, list(v.shape)] for k, v in disc.state_dict().items()] == entry["state_dict"]
    assert sum(v.numel() for v in disc.state_dict().values()) == entry["n_params"]
