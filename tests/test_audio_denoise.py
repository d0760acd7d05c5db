"""arvc.audio.denoise: spectral gating in torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arvc.audio.denoise import default_n_fft, spectral_gate, spectral_gate_blocks
from arvc.audio.io import load_audio


@pytest.fixture(scope="module")
def speech(voices_dir):
    return torch.from_numpy(load_audio(voices_dir / "slt" / "slt_01.flac", 16000))


def _noise(n, seed=0, level=0.02):
    return torch.from_numpy(np.random.default_rng(seed).standard_normal(n).astype(np.float32)) * level


def test_shapes_dtype_and_identity(speech):
    y = spectral_gate(speech, 16000, 0.7)
    assert y.shape == speech.shape and y.dtype == speech.dtype and y.device == speech.device
    assert torch.allclose(spectral_gate(speech, 16000, 0.0), speech)
    x64 = speech.double()
    assert spectral_gate(x64, 16000, 0.5).dtype == torch.float64
    with pytest.raises(ValueError):
        spectral_gate(speech, 16000, 1.5)
    with pytest.raises(ValueError):
        spectral_gate(speech[None, None], 16000)


def test_batch_matches_single_items(speech):
    a, b = speech, speech.flip(0) * 0.5 + _noise(len(speech), 1)
    batch = spectral_gate(torch.stack([a, b]), 16000, 0.8)
    torch.testing.assert_close(batch[0], spectral_gate(a, 16000, 0.8), atol=1e-5, rtol=0)
    torch.testing.assert_close(batch[1], spectral_gate(b, 16000, 0.8), atol=1e-5, rtol=0)


def test_removes_stationary_noise_and_keeps_speech(speech):
    noisy = speech + _noise(len(speech))
    err_before = torch.linalg.norm(noisy - speech)
    out = spectral_gate(noisy, 16000, 1.0)
    err_after = torch.linalg.norm(out - speech)
    assert err_after < 0.6 * err_before
    corr = torch.dot(out, speech) / (torch.linalg.norm(out) * torch.linalg.norm(speech))
    assert corr > 0.95
    assert torch.linalg.norm(spectral_gate(speech, 16000, 1.0) - speech) < 0.01 * torch.linalg.norm(speech)
    weaker = torch.linalg.norm(spectral_gate(noisy, 16000, 0.3) - speech)
    assert err_after < weaker < err_before  # strength scales the effect


def test_noise_only_is_attenuated_by_strength():
    noise = _noise(32000, 2)
    out = spectral_gate(noise, 16000, 0.9)
    ratio = float(out.pow(2).mean().sqrt() / noise.pow(2).mean().sqrt())
    assert ratio < 0.3
    gentle = spectral_gate(noise, 16000, 0.3)
    assert float(gentle.pow(2).mean().sqrt() / noise.pow(2).mean().sqrt()) > 0.6


def test_default_fft_size():
    assert default_n_fft(16000) == 512 and default_n_fft(40000) == 2048 and default_n_fft(48000) == 2048


def test_blocks_match_whole_signal_processing(speech):
    x = torch.cat([speech + _noise(len(speech), k) for k in range(4)])  # ~9.6 s
    whole = spectral_gate(x, 16000, 0.8)
    blocks = spectral_gate_blocks(x, 16000, 0.8, block_seconds=3.0, fade_seconds=0.25)
    assert blocks.shape == x.shape and blocks.dtype == x.dtype
    assert torch.linalg.norm(blocks - whole) < 0.1 * torch.linalg.norm(whole)
    short = speech[:16000]
    torch.testing.assert_close(spectral_gate_blocks(short, 16000, 0.8), spectral_gate(short, 16000, 0.8))
