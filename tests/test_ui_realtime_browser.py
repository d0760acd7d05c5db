"""The Realtime tab's browser microphone in a real browser: Debian's Chromium with a fake microphone that plays
a kal clip, streaming through ``/api/ws-audio`` of a real ``arvc ui`` server on loopback.

The bar (issue 26): 10 s of recorded output is converted speech — its log-mel distance to ``arvc realtime
--simulate`` of the same clip is within 1 dB of what two ``--simulate`` runs differ by, its length within one
block — and the page shows latency and underrun figures. The latency measured here is printed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from _browser_mic import browser_stream
from _ui_server import ui_server
from test_ui_browser import _chromium

SECONDS = 10.0
BLOCK_MS = 250


def _clip(voices_dir: Path, out: Path) -> Path:
    """kal sentences 51.. joined into one 48 kHz WAV of more than 12 s (the fake microphone plays it)."""
    from arvc.audio.io import resample

    parts = []
    for f in sorted((voices_dir / "kal").glob("kal_*.flac")):
        x, sr = sf.read(str(f), dtype="float32")
        parts += [resample(x, sr, 48000).astype(np.float32), np.zeros(4800, np.float32)]
        if sum(map(len, parts)) > 48000 * 12.5:
            break
    sf.write(str(out), np.concatenate(parts), 48000, subtype="PCM_16")
    return out


def _simulate(clip: Path, model: Path, embedder: Path, out: Path) -> np.ndarray:
    from arvc.api.cli import main as cli_main

    assert cli_main(["realtime", "-m", str(model), "--embedder_model", "custom", "--embedder_path", str(embedder),
                     "--f0_method", "pm", "--block_ms", str(BLOCK_MS), "--sample_rate", "48000",
                     "--simulate", str(clip), str(out), "--pace", "fast"]) == 0
    return sf.read(str(out), dtype="float32")[0]


def _logmel_dist(ref: np.ndarray, y: np.ndarray, sr: int = 48000) -> float:
    from test_realtime import per_second

    return float(np.mean(per_second(ref, y, sr)[0]))


@pytest.mark.slow
def test_browser_microphone_streams_through_the_server(tmp_path, fixtures_dir, voices_dir):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    chromium = _chromium()
    pt = fixtures_dir / "pipeline_tiny"
    models = Path(os.environ["ARVC_MODELS_DIR"]) / "fixture"
    models.mkdir(parents=True)
    shutil.copy(pt / "model.pth", models / "fixture.pth")
    embedder = models.parent / "embedder"
    shutil.copytree(pt / "embedder", embedder)
    clip = _clip(voices_dir, tmp_path / "kal.wav")
    with ui_server(tmp_path) as (url, _):
        run = browser_stream(sync_api, chromium, url, models / "fixture.pth", embedder, clip, tmp_path, BLOCK_MS,
                             SECONDS + 1.5)
    print(f"page: {run.status}")
    print(f"streamed {run.seconds:.1f} s; figures (ms): {run.figures}")
    f = run.figures
    print(f"closing note ({_cpu()}): block {BLOCK_MS} ms, algorithmic {f['algorithmic']:.0f} ms (+ resampling "
          f"{f['resampling']:.0f} ms), network round trip {f['rtt']:.1f} ms on loopback, "
          f"end to end {f['total']:.0f} ms; compute per block p50 {f['p50']:.0f} ms, p95 {f['p95']:.0f} ms; "
          f"playback underruns {f['underruns']}")
    assert "latency: measured" in run.status and "underruns: playback" in run.status
    rec, sent = run.recording, run.sent
    y, sr = sf.read(str(rec), dtype="float32")
    assert sr == 48000 and len(y) >= SECONDS * sr
    # Stop flushes the loop: every sample sent came back (the recorder cuts the loop's delay off)
    print(f"recording {len(y) / sr:.3f} s for {sent:.3f} s of microphone sent")
    assert abs(sent * sr - len(y)) <= BLOCK_MS * sr // 1000
    assert np.abs(y).max() > 0.05
    # Chromium's fake microphone starts somewhere in the file: find where in what the page sent, and simulate
    # the clip from there (the same block grid over the same speech)
    start, snr = _start_in(clip, tmp_path / "browser_input.wav")
    print(f"the fake microphone started {1000 * start / sr:.1f} ms into the clip (match {snr:.0f} dB SNR)")
    assert snr > 20
    x = sf.read(str(clip), dtype="float32")[0]
    if start >= 0:  # the clip as the looping microphone played it from there
        x = np.concatenate([x[start:], x[:start]])
    else:  # (started early)
        x = np.concatenate([np.zeros(-start, np.float32), x])
    sf.write(str(tmp_path / "clip_from.wav"), x, sr, subtype="FLOAT")
    n = int(SECONDS * sr)
    ref1 = _simulate(tmp_path / "clip_from.wav", models / "fixture.pth", embedder, tmp_path / "sim1.wav")[:n]
    ref2 = _simulate(tmp_path / "clip_from.wav", models / "fixture.pth", embedder, tmp_path / "sim2.wav")[:n]
    runs, d = _logmel_dist(ref1, ref2), _logmel_dist(ref1, y[:n])
    control = _logmel_dist(ref1[sr // 2:], y[: n - sr // 2])
    print(f"browser recording vs --simulate: log-mel {d:.2f} dB; two --simulate runs differ by {runs:.2f} dB; "
          f"control 0.5 s off {control:.2f} dB")
    assert d <= runs + 1.0 < control


def _cpu() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name"))
    except (OSError, StopIteration):
        import platform

        return platform.processor() or platform.machine()


def _start_in(clip: Path, sent: Path) -> tuple[int, float]:
    """(sample of ``clip`` where the recording ``sent`` starts, SNR dB of the match over 2 s). The fake microphone
    loops the clip from wherever it was when the page started sending (seconds in on a busy machine), so the
    whole looped clip is searched."""
    from scipy.signal import correlate

    x = sf.read(str(clip), dtype="float32")[0]
    b = sf.read(str(sent), dtype="float32")[0]
    seg = b[24000:120000]  # 2 s from 0.5 s in (past any start-up transient)
    loop = np.concatenate([x, x[: len(seg)]])
    o = int(np.argmax(correlate(loop, seg, mode="valid", method="fft")[: len(x)]))
    ref = loop[o : o + len(seg)]
    gain = float(np.dot(seg, ref) / np.dot(ref, ref))
    err = seg - gain * ref
    return o - 24000, float(10 * np.log10(np.sum((gain * ref) ** 2) / max(np.sum(err**2), 1e-12)))
