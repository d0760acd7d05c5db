"""The web UI in a real browser: headless Debian Chromium driven by Playwright (never a downloaded browser).

Converts an uploaded WAV and downloads the result; runs a tiny training on the bundled demo voice, watches
its log, presses Stop and loads the checkpoint it left. Screenshots of every tab go to
``$ARVC_SCREENSHOT_DIR`` (``docs/`` for the README) or the test's tmp folder.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
import soundfile as sf

from _ui_server import ui_server

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
TABS = ("Convert", "Train", "Downloads", "Model tools", "Evaluate")


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if path is None:
        reason = "Debian's chromium is not installed (apt-get install -y chromium; .ci/run installs it)"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture()
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    path = _chromium()
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _fill(page, elem_id: str, value: str) -> None:
    page.locator(f"#{elem_id}").locator("textarea, input").first.fill(value)


def _choose(page, elem_id: str, value: str) -> None:
    """Pick ``value`` in a Gradio dropdown (typing it, then choosing the matching option)."""
    box = page.locator(f"#{elem_id} input").first
    box.click()
    box.fill(value)
    option = page.locator("ul[role='listbox'] li", has_text=value)
    if option.count():
        option.first.click()
    else:
        box.press("Enter")
    page.keyboard.press("Escape")


def _number(page, elem_id: str, value: float) -> None:
    box = page.locator(f"#{elem_id} input[type='number']").first
    box.fill(str(value))
    box.press("Tab")


def _shot(page, name: str, folder: Path, full_page: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"ui-{name.lower().replace(' ', '-')}.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(out), full_page=full_page)
    return out


def test_browser_convert_train_stop(browser, tmp_path, fixtures_dir, voices_dir):
    from arvc.formats.checkpoints import load_checkpoint

    pt = fixtures_dir / "pipeline_tiny"
    models = Path(os.environ["ARVC_MODELS_DIR"]) / "fixture"
    models.mkdir(parents=True)
    shutil.copy(pt / "model.pth", models / "fixture.pth")
    shutil.copy(pt / "model.index", models / "fixture.index")
    data = tmp_path / "dataset_demo"
    data.mkdir()
    for i in (1, 2, 3):
        shutil.copy(voices_dir / "slt" / f"slt_{i:02d}.flac", data)
    shots = Path(os.environ.get("ARVC_SCREENSHOT_DIR") or tmp_path / "screenshots")
    timings = {}

    with ui_server(tmp_path) as (url, _):
        page = browser.new_page(viewport={"width": 1360, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(30_000)
        page.goto(url)
        page.wait_for_selector("#convert-button")
        page.wait_for_function("document.title === 'arvc'")

        # ---------------------------------------------------------------- Convert: upload, click, download
        t0 = time.time()
        _choose(page, "convert-model", str(models / "fixture.pth"))
        index_box = page.locator("#convert-index textarea, #convert-index input").first
        page.wait_for_function("document.querySelector('#convert-index textarea, #convert-index input').value !== ''")
        assert index_box.input_value() == str(models / "fixture.index")  # paired automatically
        _choose(page, "infer-f0_method", "pm")
        _choose(page, "infer-embedder_model", "custom")
        _fill(page, "infer-embedder_path", str(pt / "embedder"))
        page.locator("#convert-upload input[type='file']").set_input_files(str(pt / "input_short.wav"))
        page.wait_for_selector("#convert-upload :text('input_short.wav')")
        page.click("#convert-button")
        page.wait_for_selector("#convert-status :text('1 converted')", timeout=240_000)
        page.wait_for_selector("#convert-audio audio, #convert-audio [data-testid='waveform-x']", state="attached")
        timings["convert"] = time.time() - t0
        with page.expect_download() as info:
            page.locator("#convert-files a").first.click()
        out = tmp_path / "downloaded.wav"
        info.value.save_as(str(out))
        y, sr = sf.read(str(out))
        src = sf.info(str(pt / "input_short.wav"))
        assert sr == 40000 and y.ndim == 1
        assert abs(len(y) / sr - src.duration) < 0.05, (len(y) / sr, src.duration)
        _shot(page, "Convert", shots, full_page=True)

        # ---------------------------------------------------------------- Train: run all, log lines, Stop
        t0 = time.time()
        page.get_by_role("tab", name="Train").click()
        _fill(page, "train-name", "demo")
        _fill(page, "train-dataset", str(data))
        page.get_by_text("2. Extract features").click()
        _choose(page, "extract-f0_method", "pm")
        _choose(page, "extract-embedder_model", "custom")
        _fill(page, "extract-embedder_path", str(pt / "embedder"))
        _choose(page, "train-model_size", "tiny")
        page.locator("#train-from_scratch input[type='checkbox']").check()  # no pretrain offline
        _number(page, "train-epochs", 500)
        _number(page, "train-batch_size", 2)
        _number(page, "train-save_every", 1)
        _number(page, "train-log_every", 1)
        page.click("#run-all-button")
        page.wait_for_selector("#train-status :text('started')")
        logs = Path(os.environ["ARVC_LOGS_DIR"]) / "demo"
        log_box = page.locator("#train-log textarea")
        deadline = time.time() + 600
        while time.time() < deadline:
            text = log_box.input_value()
            if "step " in text and list(logs.glob("G_*.pth")):
                break
            if ": failed" in page.locator("#train-job").inner_text():
                pytest.fail("the training job failed; log:\n" + text[-3000:])
            time.sleep(1)
        else:
            pytest.fail("no training step lines / checkpoint in time; log:\n" + log_box.input_value()[-3000:])
        timings["train until first checkpoint"] = time.time() - t0
        commands = [ln for ln in text.splitlines() if ln.startswith("$ arvc ")]
        assert any(ln.startswith("$ arvc preprocess ") and ln.endswith(" -- demo") for ln in commands), commands
        assert any(ln.startswith("$ arvc train ") and ln.endswith(" -- demo") for ln in commands), commands
        page.reload()  # the running job survives a reload: its log comes back
        page.get_by_role("tab", name="Train").click()
        page.wait_for_function("document.querySelector('#train-log textarea').value.includes('step ')")
        _shot(page, "Train", shots)
        page.click("#stop-button")
        page.wait_for_selector("#train-status :text('stopped')", timeout=60_000)
        timings["total"] = time.time() - t0

        checkpoints = sorted(logs.glob("G_*.pth"), key=lambda p: p.stat().st_mtime)
        ckpt = load_checkpoint(checkpoints[-1])
        assert ckpt.iteration >= 1 and len(ckpt.model) > 10

        for tab in TABS[2:]:
            page.get_by_role("tab", name=tab).click()
            time.sleep(0.5)
            _shot(page, tab, shots)
    print("browser timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    print(f"screenshots in {shots}")
