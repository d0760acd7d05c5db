"""Drive the Realtime tab's browser microphone in Debian's Chromium (fake microphone playing a WAV) against a
running ``arvc ui``: shared by tests/test_ui_realtime_browser.py and benchmarks/bench_ws_browser.py."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from test_ui_browser import CHROMIUM_ARGS, _choose, _fill

LATENCY_FIELDS = ("total", "behind", "buffer", "device", "rtt", "algorithmic", "resampling")


@dataclass
class BrowserRun:
    status: str  # the page's status text while streaming
    figures: dict  # latency parts (ms), compute p50/p95 (ms), playback underruns
    sent: float  # seconds of microphone sent
    recording: Path  # the converted stream (Save recording)
    input: Path  # what the page sent
    seconds: float  # wall time streaming


def browser_stream(sync_api, chromium: str, url: str, model: Path, embedder: Path, clip: Path, out: Path,
                   block_ms: int, seconds: float, context_ms: int | None = None, f0_method: str = "pm") -> BrowserRun:
    """Start the browser microphone with ``model``, let ``seconds`` of output be recorded, read the page's
    figures, Stop (flushes), save the recording and the input to ``out``."""
    args = [*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={clip}", "--autoplay-policy=no-user-gesture-required"]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args, headless=True)
        page = browser.new_page(viewport={"width": 1360, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(60_000)
        page.goto(url)
        try:
            return _run(page, url, model, embedder, out, block_ms, seconds, context_ms, f0_method)
        except Exception as e:
            page.screenshot(path=str(out / "realtime-mic-failed.png"), full_page=True)
            status = page.locator("#arvc-mic-status").inner_text(timeout=5000) if page.locator(
                "#arvc-mic-status").count() else "(no status)"
            raise AssertionError(f"browser microphone: {type(e).__name__}: {str(e).splitlines()[0]}; page status: "
                                 f"{status!r}; screenshot {out / 'realtime-mic-failed.png'}") from e
        finally:
            browser.close()


def _run(page, url: str, model: Path, embedder: Path, out: Path, block_ms: int, seconds: float,
         context_ms: int | None, f0_method: str) -> BrowserRun:
    page.get_by_role("tab", name="Realtime").click()
    _choose(page, "realtime-model", str(model))
    _choose(page, "realtime-f0_method", f0_method)
    page.locator("#realtime-more > button").first.click()  # the closed "More (realtime)" group
    _choose(page, "realtime-embedder_model", "custom")
    _fill(page, "realtime-embedder_path", str(embedder))
    _fill(page, "realtime-block_ms", str(block_ms))
    if context_ms is not None:
        _fill(page, "realtime-context_ms", str(context_ms))
    page.click("#realtime-mic-start")
    page.wait_for_selector("#arvc-mic-latency", timeout=180_000)
    t0 = time.time()
    page.wait_for_function(f"Number(document.querySelector('#arvc-mic-recorded').dataset.seconds) >= "
                           f"{seconds}", timeout=int(1000 * (120 + 3 * seconds)), polling=200)
    latency = page.locator("#arvc-mic-latency")
    figures = {k: float(latency.get_attribute(f"data-{k}")) for k in LATENCY_FIELDS}
    compute = page.locator("#arvc-mic-compute")
    figures.update(p50=float(compute.get_attribute("data-p50")), p95=float(compute.get_attribute("data-p95")),
                   underruns=int(page.get_attribute("#arvc-mic-underruns", "data-playback")))
    status = page.inner_text("#arvc-mic-status")
    elapsed = time.time() - t0
    page.click("#realtime-mic-stop")
    page.wait_for_selector("#arvc-mic-status b:text('stopped')", timeout=60_000)
    sent = float(page.get_attribute("#arvc-mic-recorded", "data-sent"))
    rec, sent_wav = out / "browser.wav", out / "browser_input.wav"
    with page.expect_download() as info:
        page.click("#realtime-mic-save")
    info.value.save_as(str(rec))
    with page.expect_download() as info:
        page.evaluate("window.arvcMic.save('input')")
    info.value.save_as(str(sent_wav))
    page.screenshot(path=str(out / "realtime-mic.png"), full_page=True)
    return BrowserRun(status, figures, sent, rec, sent_wav, elapsed)
