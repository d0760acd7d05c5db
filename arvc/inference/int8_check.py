"""Whether int8 is right *and* faster for one voice model on this CPU: a cached self-check of its decoder.

The model's own prior (``enc_p`` + ``flow``, fp32, noise 0) turns a short fixed input (seeded smooth content
features, a 110 -> 220 Hz pitch glide) into decoder input; the decoder then runs in fp32 and with its
convolutions in int8 (:func:`quantize_decoder`), same deterministic NSF source. int8 passes when the log-mel
distance to fp32 is at most :data:`MAX_MEL_DB`, the SNR at least :data:`MIN_SNR_DB`, and its CPU time at most
:data:`MAX_TIME_RATIO` of fp32's. The verdict is cached in ``$ARVC_MODELS_DIR/cache/precision_guard.json`` per CPU
model, int8 ISA, torch version and model weights, so a model pays for the check once per machine.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch

from arvc.precision.int8 import describe_cpu_int8, int8_cache_key, quantize_modules, weights_digest

log = logging.getLogger(__name__)

MAX_MEL_DB = 0.3  # mean |log-mel difference| to fp32, dB
MIN_SNR_DB = 15.0  # waveform SNR to fp32
MAX_TIME_RATIO = 0.9  # int8 CPU time / fp32 CPU time
MIN_CHANNELS = 32  # narrower convs stay fp32: on the small v2 32k model its 16-channel stage in int8 was no faster
# and doubled the log-mel distance (0.175 -> 0.36 dB, benchmarks/bench_int8_quality.py); full-size models have none
CHECK_SECONDS = 1.0  # 100 frames at 40k: one tile; ~4 decodes of it make the check


@dataclass(frozen=True)
class Int8Verdict:
    """One model's int8 self-check on this CPU: quality vs fp32, CPU seconds of each, pass or not."""

    mel_db: float
    snr_db: float
    fp32_s: float
    int8_s: float
    layers: int
    ok: bool
    reason: str = ""
    cached: bool = False

    def summary(self) -> str:
        return (f"int8 decoder vs fp32: log-mel {self.mel_db:.3f} dB, SNR {self.snr_db:.1f} dB, CPU "
                f"{self.int8_s:.2f} s vs {self.fp32_s:.2f} s ({self.layers} int8 layers; {describe_cpu_int8()})"
                f" -> {'int8' if self.ok else 'fp32: ' + self.reason}")


def output_stage(dec: torch.nn.Module) -> tuple[str, ...]:
    """Names of the decoder's output stage: ``conv_post``, the last upsampling and the residual blocks at the
    output sample rate (and ``cond``, a 1 x 1 conv on the speaker vector).

    These stay fp32, as in bf16 (:func:`arvc.models.vocoders.hifigan_nsf.output_rate_in_fp32`): on a full v2 40k
    model, int8 there puts the log-mel distance at 0.33 dB (quiet high bands), without it at 0.09 dB."""
    keep = ["conv_post", "cond"]
    n, k = len(getattr(dec, "upsample_rates", ())), getattr(dec, "num_kernels", 0)
    if n and k and hasattr(dec, "resblocks"):
        keep += [f"ups.{n - 1}", *(f"resblocks.{i}" for i in range((n - 1) * k, n * k))]
    return tuple(keep)


def quantize_decoder(dec: torch.nn.Module) -> list[str]:
    """The decoder's convolutions in int8 in place (weight norm folded first), except :func:`output_stage`; the
    NSF source, its 1-channel ``noise_convs`` and the transposed convolutions stay fp32.

    The upsampling convs in int8 (``Int8ConvTranspose1d``, polyphase) measured no faster on a full v2 40k
    decoder (AMD EPYC Zen 4, 1 thread: 1.29 vs 1.25 CPU-s for 2 s; ~3% of the FLOPs, k 16 / stride 10 costs 20
    taps' work) and worse (log-mel 0.148 vs 0.089 dB), so they stay fp32 (``transposed=True`` puts them in).
    Convs with fewer than :data:`MIN_CHANNELS` input channels stay fp32 too (see there)."""
    return quantize_modules(dec, convs=True, keep=output_stage(dec), min_channels=MIN_CHANNELS)


def log_mel_distance_db(ref: np.ndarray, y: np.ndarray, sample_rate: int) -> float:
    """Mean absolute difference of two waveforms' log-mel spectrograms (80 bands, 1024-point FFT), in dB."""
    from arvc.audio.spectrogram import mel_spectrogram

    a, b = (torch.from_numpy(np.asarray(v, dtype=np.float32)).reshape(1, -1) for v in (ref, y))
    n = min(a.shape[-1], b.shape[-1])
    ma, mb = (mel_spectrogram(v[:, :n], sample_rate, 1024, 256, 80) for v in (a, b))
    return float((ma - mb).abs().mean()) * 20 / math.log(10)


def snr_db(ref: np.ndarray, y: np.ndarray) -> float:
    ref, y = np.asarray(ref, dtype=np.float64).reshape(-1), np.asarray(y, dtype=np.float64).reshape(-1)
    n = min(len(ref), len(y))
    err = np.sum((ref[:n] - y[:n]) ** 2)
    return float(10 * np.log10(np.sum(ref[:n] ** 2) / max(err, 1e-30)))


def check_input(synth, seconds: float = CHECK_SECONDS):
    """The fixed decoder input of the check: ``(z (1, inter, T), f0 (1, T) Hz | None, g (1, gin, 1))``."""
    cfg = synth.cfg
    frames = int(seconds * cfg.sample_rate / cfg.hop_length)
    gen = torch.Generator().manual_seed(1234)
    phone = torch.randn(1, frames + 4, cfg.content_dim, generator=gen)
    phone = torch.nn.functional.avg_pool1d(phone.transpose(1, 2), 5, 1).transpose(1, 2)[:, :frames] * 2
    f0 = torch.from_numpy(np.geomspace(110.0, 220.0, frames).astype(np.float32)).unsqueeze(0)
    pitch = None
    if synth.use_f0:
        from arvc.features.f0.postprocess import coarse_f0

        pitch = torch.from_numpy(coarse_f0(f0[0].numpy())).unsqueeze(0)
    lengths = torch.tensor([frames])
    with torch.no_grad():
        g = synth.emb_g(torch.zeros(1, dtype=torch.long)).unsqueeze(-1)
        m_p, _, x_mask = synth.enc_p(phone, pitch, lengths)
        z = synth.flow(m_p * x_mask, x_mask, g=g, reverse=True)
    return z, (f0 if synth.use_f0 else None), g


def _decode(dec, z, f0, g, tile: int) -> tuple[np.ndarray, float]:
    """(waveform, CPU seconds) of ``dec`` on the check input, its random draws off, after a warm-up on the input
    reversed in time (same shapes, other values: kernels built per shape are not timed, anything built per
    input value is)."""
    flags = {m: m.deterministic for m in dec.modules() if hasattr(m, "deterministic")}
    for m in flags:
        m.deterministic = True
    try:
        with torch.no_grad():
            for zz in (z.flip(-1), z):
                t = time.process_time()
                out = dec.infer_tiled(zz, f0, g, None, tile) if tile and hasattr(dec, "infer_tiled") else dec(zz, f0, g=g)
                seconds = time.process_time() - t
    finally:
        for m, v in flags.items():
            m.deterministic = v
    return out.float().reshape(-1).numpy(), seconds


def run_check(synth, quantize: Callable[[torch.nn.Module], list[str]] = quantize_decoder,
              tile: int = 0) -> tuple[Int8Verdict, torch.nn.Module]:
    """Decode the check input in fp32 and in int8; returns the verdict and the int8 decoder (a copy)."""
    z, f0, g = check_input(synth)
    ref, fp32_s = _decode(synth.dec, z, f0, g, tile)
    dec8 = copy.deepcopy(synth.dec)
    layers = len(quantize(dec8))
    got, int8_s = _decode(dec8, z, f0, g, tile)
    if not np.isfinite(got).all():
        return Int8Verdict(float("inf"), float("-inf"), fp32_s, int8_s, layers, False, "output not finite"), dec8
    mel, snr = log_mel_distance_db(ref, got, synth.cfg.sample_rate), snr_db(ref, got)
    reasons = []
    if not mel <= MAX_MEL_DB:
        reasons.append(f"log-mel distance {mel:.3f} dB > {MAX_MEL_DB}")
    if not snr >= MIN_SNR_DB:
        reasons.append(f"SNR {snr:.1f} dB < {MIN_SNR_DB:g}")
    if not int8_s <= MAX_TIME_RATIO * fp32_s:
        reasons.append(f"not faster ({int8_s:.2f} s vs {fp32_s:.2f} s fp32)")
    if layers == 0:
        reasons.append("no layer to quantize")
    return Int8Verdict(mel, snr, fp32_s, int8_s, layers, not reasons, "; ".join(reasons)), dec8


def static_quantizer(synth, model_path=None) -> Callable[[torch.nn.Module], list[str]]:
    """:func:`quantize_decoder`, then each int8 conv's input range fixed from ``synth``'s calibration (static
    activations; :mod:`arvc.inference.int8_calibration`, ranges cached per model)."""
    from arvc.inference.int8_calibration import apply_ranges, cached_ranges

    def quantize_decoder_static(dec: torch.nn.Module) -> list[str]:
        names = quantize_decoder(dec)
        apply_ranges(dec, cached_ranges(synth, dec, model_path))
        return names

    return quantize_decoder_static


def _cache_key(synth, quantize) -> str:
    """CPU model, int8 ISA, torch version, the quantizer and the model's weights (shapes and a digest)."""
    return int8_cache_key("int8-check-3", MIN_CHANNELS, getattr(quantize, "__qualname__", str(quantize)),
                          MAX_MEL_DB, MIN_SNR_DB, MAX_TIME_RATIO, CHECK_SECONDS, weights_digest(synth))


def int8_verdict(synth, quantize: Callable[[torch.nn.Module], list[str]] = quantize_decoder,
                 tile: int = 0) -> Int8Verdict:
    """The cached verdict for ``synth`` on this CPU (running :func:`run_check` the first time)."""
    from arvc.precision.guard import _guard_cache, _guard_cache_store

    key = _cache_key(synth, quantize)
    cached = _guard_cache().get(key)
    if cached is not None:
        return Int8Verdict(**{**cached, "cached": True})
    # on a copy, with the random state kept: the conversion that follows is the same with or without the check
    with torch.random.fork_rng(devices=[]):
        verdict, _ = run_check(copy.deepcopy(synth), quantize, tile)
    _guard_cache_store(key, {k: v for k, v in asdict(verdict).items() if k != "cached"})
    log.info("%s", verdict.summary())
    return verdict
