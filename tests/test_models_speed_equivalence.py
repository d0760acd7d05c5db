"""The HiFi-GAN / MRF decoders' channels-last inference fast path gives the plain path's output (tiny models)."""

from __future__ import annotations

import pytest
import torch

from arvc.models.config import ModelConfig
from arvc.models.synthesizer import Synthesizer


def _inputs(cfg: ModelConfig, lengths: list[int]):
    g = torch.Generator().manual_seed(1)
    b, t = len(lengths), max(lengths)
    phone = torch.randn(b, t, cfg.content_dim, generator=g)
    pitch = torch.randint(1, 256, (b, t), generator=g) if cfg.use_f0 else None
    pitchf = (100 + 200 * torch.rand(b, t, generator=g)) if cfg.use_f0 else None
    if pitchf is not None:
        pitchf[:, ::7] = 0  # unvoiced frames
    return phone, torch.tensor(lengths), pitch, pitchf, torch.tensor([i % cfg.spk_embed_dim for i in range(b)])


def _run(model: Synthesizer, args, fast: bool, grad: bool = False) -> torch.Tensor:
    model.dec.fast_inference = fast
    if grad:
        return model.dec(*_dec_args(model, args)).detach()
    return model.infer(*args, noise_scale=0.0)[0]


def _dec_args(model: Synthesizer, args):
    phone, lengths, pitch, pitchf, sid = args
    with torch.no_grad():
        m_p, _, x_mask = model.enc_p(phone, pitch, lengths)
        z = model.flow(m_p * x_mask, x_mask, g=model._g(sid), reverse=True)
    return z * x_mask, pitchf, model._g(sid), x_mask


@pytest.mark.parametrize("vocoder,use_f0,resblock,folded,lengths", [
    ("HiFi-GAN", True, "1", True, [12]),
    ("HiFi-GAN", True, "1", False, [12, 7, 9]),
    ("HiFi-GAN", False, "1", True, [10, 6]),
    ("HiFi-GAN", True, "2", True, [11, 5]),
    ("MRF HiFi-GAN", True, "1", True, [12]),
    ("MRF HiFi-GAN", True, "1", False, [10, 6]),
])
def test_fast_path_matches_plain_path(vocoder, use_f0, resblock, folded, lengths):
    torch.manual_seed(0)
    cfg = ModelConfig.tiny(vocoder=vocoder, use_f0=use_f0, resblock=resblock)
    model = Synthesizer(cfg, with_posterior=False).eval().set_deterministic(True)
    if folded:
        model.remove_weight_norm()
    args = _inputs(cfg, lengths)
    fast = _run(model, args, True)
    plain = _run(model, args, False)
    assert fast.shape == plain.shape
    assert plain.abs().max() > 1e-3  # a silent decoder would make the comparison vacuous
    assert (fast - plain).abs().max().item() <= 1e-5
    assert fast.is_contiguous()


def test_fast_path_is_inference_only():
    torch.manual_seed(0)
    cfg = ModelConfig.tiny()
    model = Synthesizer(cfg, with_posterior=False).eval().set_deterministic(True)
    args = _inputs(cfg, [9])
    assert model.dec.use_fast_path(args[0]) is False  # grad enabled here: the plain path trains
    with torch.no_grad():
        assert model.dec.use_fast_path(args[0]) is True
    with_grad = _run(model, args, True, grad=True)
    no_grad = _run(model, args, True)
    assert (with_grad - no_grad).abs().max().item() <= 1e-5


def test_fast_path_tracks_weight_updates():
    """Weight-normed convs are recomputed on each fast call, as the forward hook does on the plain path."""
    torch.manual_seed(0)
    cfg = ModelConfig.tiny()
    model = Synthesizer(cfg, with_posterior=False).eval().set_deterministic(True)
    args = _inputs(cfg, [9])
    before = _run(model, args, True)
    with torch.no_grad():
        model.dec.resblocks[0].convs1[0].weight_g.mul_(3.0)
    after_fast = _run(model, args, True)
    after_plain = _run(model, args, False)
    assert (after_fast - before).abs().max() > 1e-4
    assert (after_fast - after_plain).abs().max().item() <= 1e-5


@pytest.mark.parametrize("lengths", [[700], [600, 300, 257]])
def test_blocked_attention_matches_full_attention(lengths):
    """The inference path (query blocks, band-only relative terms) equals the VITS formulation."""
    from arvc.models.attentions import MultiHeadAttention

    torch.manual_seed(0)
    m = MultiHeadAttention(32, 32, 2).eval()
    t = max(lengths)
    x = torch.randn(len(lengths), 32, t)
    x_mask = (torch.arange(t)[None] < torch.tensor(lengths)[:, None]).float().unsqueeze(1)
    b = len(lengths)
    q, k, v = (conv(x).view(b, 2, 16, t).transpose(2, 3) for conv in (m.conv_q, m.conv_k, m.conv_v))
    q = q / 4.0
    with torch.no_grad():
        full = m._forward_full(q, k, v, x_mask)
        blocked = m._forward_blocked(q, k, v, x_mask)
        assert t > m.BLOCK_ROWS and (m(x, x_mask) - m.conv_o(blocked.transpose(2, 3).reshape(b, 32, t))).abs().max() == 0
    assert full.abs().max() > 0.1
    assert (full - blocked).abs().max().item() <= 1e-5


@pytest.mark.parametrize("use_f0,lengths", [(True, [70]), (True, [70, 45]), (False, [66])])
def test_tiled_decoder_matches_one_pass(use_f0, lengths):
    """Inference in tiles (with the measured context) gives the one-pass output; without context it does not."""
    torch.manual_seed(0)
    cfg = ModelConfig.tiny(vocoder="HiFi-GAN", use_f0=use_f0)
    model = Synthesizer(cfg, with_posterior=False).eval().set_deterministic(True)
    model.remove_weight_norm()
    args = _inputs(cfg, lengths)
    whole = model.infer(*args, noise_scale=0.0)[0]
    model.decode_tile = 16
    tiled = model.infer(*args, noise_scale=0.0)[0]
    assert tiled.shape == whole.shape and whole.abs().max() > 1e-3
    assert (tiled - whole).abs().max().item() <= 1e-5
    assert 1 <= model.dec.context_frames() < 16
    model.dec._context = 0  # tiles cut without context: seams differ
    assert (model.infer(*args, noise_scale=0.0)[0] - whole).abs().max().item() > 1e-4


@pytest.mark.parametrize("preset,resblock,lengths", [("tiny", "1", [30]), ("tiny", "2", [30, 21]),
                                                      ("v2-40k", "1", [24])])
def test_decoder_drop_skips_the_context_with_the_same_output(preset, resblock, lengths):
    """``dec(..., drop=d)``: the first d frames are context only; the fast path runs the later stages only on the
    samples the kept output reads (``reach``) and gives the full pass's tail; with no reach it would not."""
    torch.manual_seed(0)
    cfg = (ModelConfig.tiny(vocoder="HiFi-GAN", resblock=resblock) if preset == "tiny" else
           ModelConfig.preset(version="v2", sample_rate=40000, vocoder="HiFi-GAN", use_f0=True))
    model = Synthesizer(cfg, with_posterior=False).eval().set_deterministic(True)
    model.remove_weight_norm()
    z, f0, g, x_mask = _dec_args(model, _inputs(cfg, lengths))
    mask = x_mask if len(lengths) > 1 else None
    dec, drop = model.dec, 8
    with torch.inference_mode():
        whole = dec(z, f0, g=g, x_mask=mask)
        tail = dec(z, f0, g=g, x_mask=mask, drop=drop)
        dec.fast_inference = False
        plain = dec(z, f0, g=g, x_mask=mask, drop=drop)
        dec.fast_inference = True
        assert whole.abs().max() > 1e-3 and sum(dec.reach) > 0
        assert tail.shape == plain.shape == (len(lengths), 1, (max(lengths) - drop) * dec.upp)
        assert (tail - whole[..., drop * dec.upp:]).abs().max().item() <= 1e-5
        assert (plain - whole[..., drop * dec.upp:]).abs().max().item() <= 1e-5
        reach, dec.reach = dec.reach, [0] * len(dec.reach)  # cut without the later stages' context: differs
        assert (dec(z, f0, g=g, x_mask=mask, drop=drop) - whole[..., drop * dec.upp:]).abs().max().item() > 1e-4
        dec.reach = reach
