"""Static int8 activations: each int8 conv's input range calibrated once per model (``--int8_activations static``).

The decoder is run (int8, observing each :class:`~arvc.precision.int8.Int8Conv1d`'s input range) on content
features and pitch from the model's own training run when its experiment folder is beside the model file
(``extracted/`` and ``f0_voiced/``, as ``arvc extract`` writes them), else on a small generated set (seeded
smooth features through the model's prior, pitch glides over 80-400 Hz). The prior is sampled at inference's
noise scale, so the ranges cover what a conversion sees. Each conv's range is the widest seen (scaled about its
centre by :data:`MARGIN`), then fixed (:meth:`Int8Conv1d.set_input_range`); values outside it saturate. Ranges are cached
beside the int8 verdict (``$ARVC_MODELS_DIR/cache/precision_guard.json``) per model weights and calibration set.

    calibration_set(synth, model_path)   -> (source, [(phone (1, T, C), pitch (1, T) | None, pitchf (1, T) | None)])
    calibrate(synth, dec8, items)        -> {conv name: [lo, hi]}  (dec8: a decoder already in int8)
    apply_ranges(dec8, ranges)           fix each conv's range (static)
    cached_ranges(synth, dec8, model_path)  the above, cached

Measured slightly less right than per-call (dynamic) scales and no faster, so dynamic is the default (README,
Precision; benchmarks/bench_int8_quality.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from arvc.precision.int8 import Int8Conv1d, int8_cache_key, weights_digest

log = logging.getLogger(__name__)

MARGIN = 1.0  # calibrated ranges as seen: wider ones cost resolution (small v2 32k: 0.22 dB at 1.0, 0.28 at 1.25, 0.38 at 1.6)
MAX_ITEMS = 8  # calibration clips (training clips are ~3 s: ~24 s of audio at most)
NOISE_SCALE = 0.66666  # the prior's temperature in RVC inference


def _training_items(synth, folder: Path) -> list[tuple]:
    """Up to :data:`MAX_ITEMS` (phone, pitch, pitchf) of the experiment folder's training features; [] when the
    folder has none that fit the model (content width, pitch files)."""
    from arvc.features.f0.postprocess import coarse_f0

    feats = sorted((folder / "extracted").glob("*.npy")) if (folder / "extracted").is_dir() else []
    items = []
    step = max(1, len(feats) // MAX_ITEMS)
    for path in feats[::step][:MAX_ITEMS]:
        try:
            phone = np.load(path, allow_pickle=False)
            hz = np.load(folder / "f0_voiced" / path.name, allow_pickle=False) if synth.use_f0 else None
        except (OSError, ValueError):
            continue
        if phone.ndim != 2 or phone.shape[1] != synth.cfg.content_dim or not np.isfinite(phone).all():
            continue
        phone = np.repeat(phone, 2, axis=0)  # 50 -> 100 frames per second, as inference repeats them
        n = min(len(phone), len(hz)) if hz is not None else len(phone)
        if n < 20:
            continue
        pf = None if hz is None else torch.from_numpy(hz[:n].astype(np.float32)).unsqueeze(0)
        p = None if hz is None else torch.from_numpy(coarse_f0(hz[:n].astype(np.float32))).unsqueeze(0)
        items.append((torch.from_numpy(phone[:n].astype(np.float32)).unsqueeze(0), p, pf))
    return items


def _generated_items(synth, count: int = 4, seconds: float = 2.0) -> list[tuple]:
    """``count`` seeded clips: smooth random content features, pitch glides 80 -> 160 Hz ... 200 -> 400 Hz."""
    from arvc.features.f0.postprocess import coarse_f0

    frames = int(seconds * synth.cfg.sample_rate / synth.cfg.hop_length)
    gen = torch.Generator().manual_seed(4321)
    items = []
    for i, lo in enumerate(np.geomspace(80.0, 200.0, count)):
        phone = torch.randn(1, frames + 4, synth.cfg.content_dim, generator=gen)
        phone = torch.nn.functional.avg_pool1d(phone.transpose(1, 2), 5, 1).transpose(1, 2)[:, :frames] * 2
        hz = np.geomspace(lo, 2 * lo, frames).astype(np.float32)
        hz[(np.arange(frames) // 25) % 4 == 3] = 0.0  # every fourth quarter-second unvoiced
        p = torch.from_numpy(coarse_f0(hz)).unsqueeze(0) if synth.use_f0 else None
        items.append((phone, p, torch.from_numpy(hz).unsqueeze(0) if synth.use_f0 else None))
    return items


def calibration_set(synth, model_path: str | Path | None) -> tuple[str, list[tuple]]:
    """The model's training features when its experiment folder is beside it, else the generated set."""
    if model_path is not None:
        folder = Path(model_path).resolve().parent
        items = _training_items(synth, folder)
        if items:
            return f"training features ({folder.name}/extracted, {len(items)} clips)", items
    return "generated set (4 clips)", _generated_items(synth)


def calibrate(synth, dec8: torch.nn.Module, items: list[tuple], seed: int = 0) -> dict[str, list[float]]:
    """Widest input range of each int8 conv of ``dec8`` (``synth``'s decoder in int8, dynamic) over ``items``;
    ``{name: [lo, hi]}``, before :data:`MARGIN`. The random state is kept."""
    convs = {n: m for n, m in dec8.named_modules() if isinstance(m, Int8Conv1d)}
    for m in convs.values():
        m.observed, m.static = [float("inf"), float("-inf")], None
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            for phone, pitch, pitchf in items:
                lengths = torch.tensor([phone.shape[1]])
                g = synth.emb_g(torch.zeros(1, dtype=torch.long)).unsqueeze(-1)
                m_p, logs_p, x_mask = synth.enc_p(phone, pitch, lengths)
                z_p = (m_p + torch.exp(logs_p) * torch.randn_like(m_p) * NOISE_SCALE) * x_mask
                z = synth.flow(z_p, x_mask, g=g, reverse=True)
                tile = getattr(synth, "decode_tile", 0)
                if tile and hasattr(dec8, "infer_tiled"):
                    dec8.infer_tiled(z, pitchf, g, None, tile)
                else:
                    dec8(z, pitchf, g=g)
        return {n: list(m.observed) for n, m in convs.items()}
    finally:
        for m in convs.values():
            m.observed = None


def apply_ranges(dec8: torch.nn.Module, ranges: dict[str, list[float]], margin: float | None = None) -> int:
    """Fix each int8 conv's input range to its calibrated one (centred, scaled by ``margin``, default
    :data:`MARGIN`); returns how many. A conv without a range stays dynamic."""
    margin = MARGIN if margin is None else margin
    n = 0
    for name, m in dec8.named_modules():
        if isinstance(m, Int8Conv1d) and name in ranges and np.isfinite(ranges[name]).all():
            lo, hi = ranges[name]
            mid, half = (lo + hi) / 2, (hi - lo) / 2 * margin
            m.set_input_range(mid - half, mid + half)
            n += 1
    return n


def cached_ranges(synth, dec8: torch.nn.Module, model_path: str | Path | None) -> dict[str, list[float]]:
    """:func:`calibrate` on :func:`calibration_set`, cached per model weights and calibration source."""
    from arvc.precision.guard import _guard_cache, _guard_cache_store

    source, items = calibration_set(synth, model_path)
    key = int8_cache_key("int8-ranges-2", weights_digest(synth), source, MAX_ITEMS, NOISE_SCALE,
                         sorted(n for n, m in dec8.named_modules() if isinstance(m, Int8Conv1d)))
    ranges = _guard_cache().get(key)
    if ranges is None:
        ranges = calibrate(synth, dec8, items)
        _guard_cache_store(key, ranges)
        log.info("int8 static activations: %d conv ranges calibrated on %s", len(ranges), source)
    return ranges
