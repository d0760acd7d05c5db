"""Tiny-config behaviour of the synthesizer, vocoders, resampler and discriminators."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from arvc.errors import ArvcError
from arvc.models.commons import slice_segments
from arvc.models.config import ModelConfig
from arvc.models.discriminators import MultiPeriodDiscriminator, discriminator_version_for
from arvc.models.synthesizer import Synthesizer
from arvc.models.vocoders import VOCODERS
from arvc.models.vocoders.resample import resample
from arvc.models.vocoders.source import hifigan_sine_phase


def _batch(cfg: ModelConfig, lengths: list[int], seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    b, t = len(lengths), max(lengths)
    phone = torch.randn(b, t, cfg.content_dim, generator=g)
    pitchf = 100 + 200 * torch.rand(b, t, generator=g)
    pitchf[:, :3] = 0
    pitch = torch.randint(1, 256, (b, t), generator=g)
    lens = torch.tensor(lengths)
    if not cfg.use_f0:
        pitch = pitchf = None
    return phone, lens, pitch, pitchf


@pytest.mark.parametrize("vocoder,use_f0", [("HiFi-GAN", True), ("HiFi-GAN", False),
                                             ("MRF HiFi-GAN", True), ("RefineGAN", True)])
def test_training_forward_and_gradients(vocoder, use_f0):
    torch.manual_seed(0)
    cfg = ModelConfig.tiny(vocoder=vocoder, use_f0=use_f0)
    model = Synthesizer(cfg).train()
    phone, lens, pitch, pitchf = _batch(cfg, [12, 10])
    spec = torch.randn(2, cfg.spec_channels, 12).abs()
    y_hat, ids, x_mask, y_mask, (z, z_p, m_p, logs_p, m_q, logs_q) = model(
        phone, lens, pitch, pitchf, spec, lens, torch.tensor([0, 1]))
    assert y_hat.shape == (2, 1, cfg.segment_frames * cfg.hop_length) == (2, 1, cfg.segment_size)
    assert ids.shape == (2,) and bool((ids >= 0).all()) and bool((ids + cfg.segment_frames <= lens).all())
    assert z.shape == z_p.shape == m_q.shape == (2, cfg.inter_channels, 12)
    assert m_p.shape == logs_p.shape == (2, cfg.inter_channels, 12)
    assert x_mask[1, 0, 10:].sum() == 0 and y_mask[1, 0, :10].sum() == 10
    loss = y_hat.pow(2).mean() + (z_p - m_p).pow(2).mean() + logs_q.mean()
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    for prefix in ("enc_p.emb_phone", "enc_q.pre", "flow.flows.0.post", "dec", "emb_g"):
        assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if n.startswith(prefix)), prefix


def test_checkpointing_gives_same_loss_and_grads():
    cfg = ModelConfig.tiny()
    torch.manual_seed(1)
    plain = Synthesizer(cfg).train()
    ckpt = Synthesizer(cfg, checkpointing=True).train()
    ckpt.load_state_dict(plain.state_dict())
    phone, lens, pitch, pitchf = _batch(cfg, [10, 10])
    spec = torch.randn(2, cfg.spec_channels, 10).abs()
    results = []
    for model in (plain, ckpt):
        model.set_deterministic(True)
        torch.manual_seed(3)
        y_hat = model(phone, lens, pitch, pitchf, spec, lens, torch.tensor([0, 1]))[0]
        y_hat.sum().backward()
        results.append((y_hat.detach(), model.dec.conv_pre.weight.grad.clone()))
    assert torch.allclose(results[0][0], results[1][0], atol=1e-6)
    assert torch.allclose(results[0][1], results[1][1], atol=1e-5)


@pytest.mark.parametrize("vocoder", ["HiFi-GAN", "MRF HiFi-GAN"])
def test_batched_infer_equals_single(vocoder):
    torch.manual_seed(2)
    cfg = ModelConfig.tiny(vocoder=vocoder)
    model = Synthesizer(cfg).eval().set_deterministic(True)
    phone, lens, pitch, pitchf = _batch(cfg, [16, 9])
    sid = torch.tensor([1, 2])
    audio, x_mask, _ = model.infer(phone, lens, pitch, pitchf, sid, noise_scale=0)
    assert audio.shape == (2, 1, 16 * cfg.hop_length)
    for b, n in enumerate([16, 9]):
        single = model.infer(phone[b:b + 1, :n], lens[b:b + 1], pitch[b:b + 1, :n], pitchf[b:b + 1, :n],
                             sid[b:b + 1], noise_scale=0)[0]
        assert torch.allclose(audio[b:b + 1, :, :n * cfg.hop_length], single, atol=1e-5), b


def test_refinegan_nof0_and_v1_infer():
    torch.manual_seed(3)
    for vocoder, use_f0, version in (("RefineGAN", True, "v2"), ("HiFi-GAN", False, "v2"), ("HiFi-GAN", True, "v1")):
        cfg = ModelConfig.tiny(version, vocoder=vocoder, use_f0=use_f0)
        model = Synthesizer(cfg).eval().set_deterministic(True)
        phone, lens, pitch, pitchf = _batch(cfg, [11])
        a = model.infer(phone, lens, pitch, pitchf, torch.tensor([0]), noise_scale=0)[0]
        b = model.infer(phone, lens, pitch, pitchf, torch.tensor([0]), noise_scale=0)[0]
        assert a.shape == (1, 1, 11 * cfg.hop_length)
        assert torch.isfinite(a).all() and torch.equal(a, b)
        assert a.abs().max() <= 1


def test_pitch_required_and_unknown_vocoder():
    model = Synthesizer(ModelConfig.tiny()).eval()
    phone, lens, _, _ = _batch(model.cfg, [5])
    with pytest.raises(ValueError):
        model.infer(phone, lens, None, None, torch.tensor([0]))
    with pytest.raises(ArvcError):
        ModelConfig.tiny(vocoder="wavenet")
    with pytest.raises(ArvcError):
        ModelConfig.tiny(vocoder="RefineGAN", use_f0=False)
    assert set(VOCODERS.names()) == {"HiFi-GAN", "MRF HiFi-GAN", "RefineGAN"}
    assert VOCODERS.resolve("mrf") == "MRF HiFi-GAN"


def test_config_round_trip_and_derived_values():
    cfg = ModelConfig.preset("v2", "48k", "HiFi-GAN")
    again = ModelConfig.from_list(cfg.to_list(), version="v2", use_f0=True, vocoder="HiFi-GAN")
    assert again == cfg and cfg.hop_length == 480 and cfg.segment_frames == 36 and cfg.content_dim == 768
    v1 = ModelConfig.preset("v1", 32000)
    assert v1.hop_length == 320 and v1.content_dim == 256 and v1.filter_length == 1024
    assert ModelConfig.from_list(cfg.to_list()[:17] + ["48k"]).sample_rate == 48000
    with pytest.raises(ArvcError):
        ModelConfig.from_list([1, 2, 3])
    tiny = ModelConfig.tiny("v1", 48000)
    assert tiny.hop_length == 480 and tiny.spec_channels == 1025


def test_hifigan_sine_phase_formula():
    f0 = torch.tensor([[0.0, 100.0, 220.5, 441.0]])
    sr, upp = 40000, 400
    phi = hifigan_sine_phase(f0, upp, sr).numpy()[0]
    f = f0.numpy()[0].astype(np.float32)
    r = np.fmod(f[:-1] / np.float32(sr) * np.float32(upp) + np.float32(0.5), np.float32(1)) - np.float32(0.5)
    c = np.concatenate([[0], np.fmod(np.cumsum(r, dtype=np.float32), 1)]).astype(np.float32)
    expect = ((f[:, None] / np.float32(sr)) * np.arange(1, upp + 1, dtype=np.float32) + c[:, None]).reshape(-1)
    assert np.abs(phi - expect).max() < 1e-6


def test_slice_segments_pads_past_end():
    x = torch.arange(10.0).view(1, 1, 10).repeat(2, 1, 1)
    out = slice_segments(x, torch.tensor([2, 8]), 4)
    assert out[0, 0].tolist() == [2, 3, 4, 5] and out[1, 0].tolist() == [8, 9, 0, 0]


def test_resample_keeps_passband_and_kills_aliases():
    sr = 16000
    n = torch.arange(sr, dtype=torch.float64)
    low = torch.sin(2 * math.pi * 500 * n / sr).float()
    high = torch.sin(2 * math.pi * 7000 * n / sr).float()
    down = resample(torch.stack([low, high]).unsqueeze(1), sr, sr // 2)
    assert down.shape == (2, 1, sr // 2)
    ref = torch.sin(2 * math.pi * 500 * torch.arange(sr // 2, dtype=torch.float64) / (sr // 2)).float()
    assert (down[0, 0, 300:-300] - ref[300:-300]).abs().max() < 1e-4
    assert down[1, 0, 300:-300].abs().max() < 1e-5
    up = resample(low, 3, 5)
    assert up.shape[-1] == math.ceil(sr * 5 / 3)


def test_discriminator_outputs():
    version = "v3"
    torch.manual_seed(0)
    disc = MultiPeriodDiscriminator(version)
    y, y_hat = torch.randn(2, 1, 1000) * 0.1, torch.randn(2, 1, 1000) * 0.1
    with torch.no_grad():
        y_d_rs, y_d_gs, fmap_rs, fmap_gs = disc(y, y_hat)
    n = 1 + len(disc.periods) + (3 if version == "v3" else 0)
    assert len(y_d_rs) == len(y_d_gs) == len(fmap_rs) == len(fmap_gs) == n
    for r, g_, fr, fg in zip(y_d_rs, y_d_gs, fmap_rs, fmap_gs):
        assert r.shape == g_.shape and r.dim() == 2 and r.shape[0] == 2
        assert len(fr) == len(fg) >= 6 and all(a.shape == b.shape for a, b in zip(fr, fg))
    logits, _ = disc.discriminators[1](y_hat)
    logits.mean().backward()
    assert disc.discriminators[1].convs[0].weight_v.grad.abs().sum() > 0
    assert discriminator_version_for("RefineGAN") == "v3" and discriminator_version_for("HiFi-GAN", "v1") == "v1"


@pytest.mark.parametrize("vocoder", ["HiFi-GAN", "MRF HiFi-GAN", "RefineGAN"])
@pytest.mark.parametrize("seed", range(4))
def test_fresh_source_carries_the_pitch(vocoder, seed):
    """A model built from scratch gets an audible harmonic source at the given F0, whatever the seed."""
    torch.manual_seed(seed)
    cfg = ModelConfig.tiny(vocoder=vocoder)
    source = Synthesizer(cfg).dec.m_source
    source.deterministic = True
    sr, f0_hz, frames = cfg.sample_rate, 220.0, 100
    upp = math.prod(cfg.upsample_rates)
    f0 = torch.full((1, frames), f0_hz)
    with torch.no_grad():
        out = source(f0, upp) if vocoder == "HiFi-GAN" else source(f0.repeat_interleave(upp, dim=1))
    wave = out.reshape(-1).numpy()
    assert np.sqrt(np.mean(wave ** 2)) > 0.1
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    peak = np.fft.rfftfreq(len(wave), 1 / sr)[np.argmax(spectrum)]
    assert abs(peak - f0_hz) < 5


def test_resample_hann_window_is_torchaudios_default_shape():
    """``window="hann"`` (width 6, rolloff 0.99: torchaudio's default) passes 500 Hz, attenuates 7 kHz at
    16 -> 8 kHz less than the long Kaiser kernel does, and differs from it."""
    sr = 16000
    n = torch.arange(sr, dtype=torch.float64)
    low = torch.sin(2 * math.pi * 500 * n / sr).float()
    high = torch.sin(2 * math.pi * 7000 * n / sr).float()
    kw = dict(lowpass_filter_width=6, rolloff=0.99, window="hann")
    down = resample(torch.stack([low, high]), sr, sr // 2, **kw)
    ref = torch.sin(2 * math.pi * 500 * torch.arange(sr // 2, dtype=torch.float64) / (sr // 2)).float()
    assert (down[0, 300:-300] - ref[300:-300]).abs().max() < 1e-3
    assert 1e-5 < down[1, 300:-300].abs().max() < 0.05
    assert not torch.allclose(down, resample(torch.stack([low, high]), sr, sr // 2))
    with pytest.raises(ValueError, match="kaiser"):
        resample(low, sr, sr // 2, window="blackman")
