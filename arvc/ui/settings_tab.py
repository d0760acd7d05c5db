"""Settings tab: the models folder, the jobs' default device and precision, light / dark; what this machine has
(the defaults the other tabs preselect) and a button fetching the prerequisites (``arvc prerequisites``)."""

from __future__ import annotations

import os
from pathlib import Path

import gradio as gr

from arvc.api.options import PRECISIONS
from arvc.api.tables import argv_for
from arvc.device import DEVICE_ENV
from arvc.library.available import machine_defaults
from arvc.paths import MODELS_ENV, models_root

DEVICES = ("auto", "cpu", "cuda", "mps")
THEME_JS = "(t) => { document.body.classList.toggle('dark', t === 'dark'); return t; }"


def _machine() -> str:
    return "\n".join(f"- {line}" for line in machine_defaults().lines())


def build(ctx, shell) -> None:
    with gr.Row():
        folder = gr.Textbox(value=str(models_root().resolve()), label="Models folder",
                            info="voices, pretrains, embedders and pitch weights (inside the allowed folders)",
                            elem_id="settings-models", scale=3)
        device = gr.Dropdown(choices=list(DEVICES), value=ctx.settings["device"], label="Default device",
                             elem_id="settings-device")
        precision = gr.Dropdown(choices=list(PRECISIONS), value=ctx.settings["precision"], label="Default precision",
                                elem_id="settings-precision")
        theme = gr.Radio(choices=["light", "dark"], value=ctx.settings["theme"], label="Theme",
                         elem_id="settings-theme")
    apply = gr.Button("Apply", variant="primary", elem_id="settings-apply")
    saved = gr.Markdown()
    gr.Markdown("### What this machine has")
    machine = gr.Markdown(_machine(), elem_id="settings-machine")
    fetch = gr.Button("Fetch the prerequisites (RMVPE, ContentVec, standard pretrain)")
    log = gr.Textbox(label="download log", lines=8)

    def on_apply(f, dev, prec, t):
        path = Path(ctx.path(f, "Models folder"))
        if not path.is_dir():
            raise gr.Error(f"Models folder: {f} is not a folder")
        os.environ[MODELS_ENV] = str(path)
        ctx.jobs.env[MODELS_ENV] = str(path)
        if dev == "auto":
            ctx.jobs.env.pop(DEVICE_ENV, None)
        else:
            ctx.jobs.env[DEVICE_ENV] = dev
        ctx.settings.update(device=dev, precision=prec, theme=t)
        return f"saved: models in {path}, device {dev}, precision {prec}", _machine()

    def on_fetch():
        job = ctx.jobs.submit("tool", "prerequisites", [argv_for("prerequisites", {})])
        while not job.done.wait(0.5):
            yield job.status() + "\n" + job.log(30), gr.update()
        yield job.status() + "\n" + job.log(60), _machine()

    apply.click(on_apply, inputs=[folder, device, precision, theme], outputs=[saved, machine], api_name="settings")
    theme.change(None, inputs=theme, js=THEME_JS)
    fetch.click(on_fetch, outputs=[log, machine], api_name="prerequisites")
