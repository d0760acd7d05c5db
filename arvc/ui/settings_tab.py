"""Settings tab: the models folder, the jobs' default device and precision, light / dark; what this machine has
(the defaults the other tabs preselect) and a button fetching the prerequisites (``arvc prerequisites``).

The settings are kept in ``<output folder>/state/settings.json`` (written atomically), read back when the
server starts and shown as they are now on every page load."""

from __future__ import annotations

import json
import os
from pathlib import Path

import gradio as gr

from arvc.api.options import PRECISIONS
from arvc.api.tables import argv_for
from arvc.atomic import write_json
from arvc.device import DEVICE_ENV
from arvc.errors import ArvcError
from arvc.library.available import machine_defaults
from arvc.paths import MODELS_ENV, models_root

DEVICES = ("auto", "cpu", "cuda", "mps")
THEMES = ("light", "dark")
THEME_JS = "(t) => { document.body.classList.toggle('dark', t === 'dark'); return t; }"
MAX_SETTINGS_BYTES = 64_000


def settings_path(ctx) -> Path:
    return ctx.output_dir / "state" / "settings.json"


def apply(ctx, models_dir: str | None, device: str, precision: str, theme: str) -> Path:
    """Use these settings from now on (jobs' environment, the models folder); ArvcError naming the field."""
    if device not in DEVICES:
        raise ArvcError(f"Default device: {device!r} is not one of {', '.join(DEVICES)}")
    if precision not in PRECISIONS:
        raise ArvcError(f"Default precision: {precision!r} is not one of {', '.join(PRECISIONS)}")
    if theme not in THEMES:
        raise ArvcError(f"Theme: {theme!r} is not one of {', '.join(THEMES)}")
    path = models_root().resolve()
    if models_dir:
        try:
            path = Path(ctx.path(models_dir, "Models folder"))
        except gr.Error as e:
            raise ArvcError(getattr(e, "message", None) or str(e)) from None
        if not path.is_dir() and path != models_root().resolve():  # the default may not exist yet
            raise ArvcError(f"Models folder: {models_dir} is not a folder")
    os.environ[MODELS_ENV] = str(path)
    ctx.jobs.env[MODELS_ENV] = str(path)
    if device == "auto":
        ctx.jobs.env.pop(DEVICE_ENV, None)
    else:
        ctx.jobs.env[DEVICE_ENV] = device
    ctx.settings.update(models_dir=str(path), device=device, precision=precision, theme=theme)
    return path


def save(ctx) -> None:
    write_json(settings_path(ctx), {"version": 1, **ctx.settings})


def restore(ctx) -> str | None:
    """Apply the saved settings, if any; a one-line message when the file or a value in it is not usable
    (the defaults stay then)."""
    path = settings_path(ctx)
    if not path.is_file():
        return None
    try:
        if path.stat().st_size > MAX_SETTINGS_BYTES:
            raise ValueError("too large")
        saved = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(saved, dict):
            raise ValueError("not a JSON object")
        now = {**ctx.settings, **{k: v for k, v in saved.items() if k != "version"}}
        apply(ctx, now.get("models_dir"), str(now["device"]), str(now["precision"]), str(now["theme"]))
    except (OSError, ValueError, KeyError, ArvcError) as e:
        return f"{path}: saved settings not used ({e})"
    return None


def _machine() -> str:
    return "\n".join(f"- {line}" for line in machine_defaults().lines())


def build(ctx, shell):
    """The tab; returns the theme control (the page applies it when it loads)."""
    with gr.Row():
        folder = gr.Textbox(value=lambda: str(models_root().resolve()), label="Models folder",
                            info="voices, pretrains, embedders and pitch weights (inside the allowed folders)",
                            elem_id="settings-models", scale=3)
        device = gr.Dropdown(choices=list(DEVICES), value=lambda: ctx.settings["device"], label="Default device",
                             elem_id="settings-device")
        precision = gr.Dropdown(choices=list(PRECISIONS), value=lambda: ctx.settings["precision"],
                                label="Default precision", elem_id="settings-precision")
        theme = gr.Radio(choices=list(THEMES), value=lambda: ctx.settings["theme"], label="Theme",
                         elem_id="settings-theme")
    apply_button = gr.Button("Apply", variant="primary", elem_id="settings-apply")
    saved = gr.Markdown()
    gr.Markdown("### What this machine has")
    machine = gr.Markdown(_machine(), elem_id="settings-machine")
    fetch = gr.Button("Fetch the prerequisites (RMVPE, ContentVec, standard pretrain)")
    log = gr.Textbox(label="download log", lines=8)

    def on_apply(f, dev, prec, t):
        try:
            path = apply(ctx, f, dev, prec, t)
            save(ctx)
        except ArvcError as e:
            raise gr.Error(str(e)) from None
        return f"saved: models in {path}, device {dev}, precision {prec}, theme {t}", _machine()

    def on_fetch():
        job = ctx.jobs.submit("tool", "prerequisites", [argv_for("prerequisites", {})])
        while not job.done.wait(0.5):
            yield job.status() + "\n" + job.log(30), gr.update()
        yield job.status() + "\n" + job.log(60), _machine()

    apply_button.click(on_apply, inputs=[folder, device, precision, theme], outputs=[saved, machine],
                       api_name="settings")
    theme.change(None, inputs=theme, js=THEME_JS)
    fetch.click(on_fetch, outputs=[log, machine], api_name="prerequisites")
    return theme
