"""The web UI's Realtime tab: live voice changing between two sound devices, or a file through the same loop.

The options are the ``REALTIME`` table (:mod:`arvc.api.options`), the ones ``arvc realtime --help`` lists; the
values go through the command's own parser and :func:`arvc.api.commands.realtime.run_from_args`, so a setting
means the same here as on the command line. The run itself is :class:`~arvc.ui.realtime_session.RealtimeSession`
(the stage function in a thread of the server); this module only builds controls and shows its status.
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from arvc.api.options import REALTIME
from arvc.api.ws_protocol import CLIENT_OPTIONS
from arvc.errors import ArvcError
from arvc.ui import library
from arvc.ui.controls import Controls, build_controls

NO_DEVICES_HINT = ("use *Browser microphone* below (your browser's microphone and speakers, streamed to this server), "
                   "or tick *simulate from file* to stream a file through the same loop")
MIC_HTML = """<div id="arvc-mic">
<label>microphone <select id="arvc-mic-input"><option value="">default</option></select></label>
<label>output <select id="arvc-mic-output"><option value="">default</option></select></label>
<label><input type="checkbox" id="arvc-mic-monitor" checked> monitor (play the converted voice)</label>
<div id="arvc-mic-status">stopped</div></div>"""


def device_pickers() -> tuple[list[tuple[str, str]], str | None, list[tuple[str, str]], str | None, str]:
    """``(input choices, default, output choices, default, message)``; choices are ``("3: name", "3")``."""
    from arvc.stages.realtime import device_choices

    d = device_choices()
    ins = [(f"{i}: {name}", str(i)) for i, name in d.inputs]
    outs = [(f"{i}: {name}", str(i)) for i, name in d.outputs]
    message = f"**{d.problem}**: {NO_DEVICES_HINT}" if d.problem else f"{len(ins)} input and {len(outs)} output device(s)"
    return (ins, str(d.default_input) if d.default_input is not None else (ins[0][1] if ins else None),
            outs, str(d.default_output) if d.default_output is not None else (outs[0][1] if outs else None), message)


def _parse(argv: list[str]):
    """``arvc realtime`` flags -> its :class:`RealtimeRun` (the CLI's parser; a parse error is one line)."""
    from arvc.api.cli import build_parser

    parser, module = build_parser("realtime")
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit:
        lines = [ln for ln in err.getvalue().strip().splitlines() if ln.strip()]
        raise ArvcError(lines[-1].split("error: ", 1)[-1] if lines else "invalid settings") from None
    return module.run_from_args(args)


@dataclass
class RealtimeTab:
    """The tab's components and handlers (plain methods: tests call them without a browser)."""

    ctx: Any  # arvc.ui.app.UIContext
    model: Any
    index: Any
    input_device: Any
    output_device: Any
    devices_note: Any
    simulate: Any
    sim_input: Any
    controls: Controls
    start_button: Any
    stop_button: Any
    status: Any
    sim_output: Any

    def inputs(self) -> list[Any]:
        return [self.model, self.index, self.input_device, self.output_device, self.simulate, self.sim_input,
                *self.controls.inputs()]

    def start(self, model: str | None, index: str | None, input_device: str | None, output_device: str | None,
              simulate: bool, sim_input: str | None, *raw) -> str:
        """Start a session from the tab's values; the status (or a one-line ``error: ...``)."""
        session = self.ctx.realtime
        try:
            if session.running:
                raise ArvcError(f"a realtime session is already running ({session.title}); stop it first")
            if not model:
                raise ArvcError("choose a model first")
            ctx = self.ctx
            fixed = {"model": ctx.path(model, "model"), "index": ctx.path(index, "index") if index else None}
            if simulate:
                if not sim_input:
                    raise ArvcError("simulate from file: upload an input file")
                sim_input = ctx.path(sim_input, "simulate input", uploads=True)
                dst = self.ctx.new_dir("realtime") / f"{Path(sim_input).stem}_realtime.wav"
                fixed["simulate"] = [str(sim_input), str(dst)]
                title = f"simulate {Path(sim_input).name} -> {dst.name}"
            else:
                fixed.update(input_device=None if input_device in (None, "") else str(input_device),
                             output_device=None if output_device in (None, "") else str(output_device))
                title = f"live: device {input_device or 'default'} -> {output_device or 'default'}"
            session.start(_parse(self.controls.argv(raw, **fixed)), title)
        except (ArvcError, gr.Error) as e:
            return f"error: {getattr(e, 'message', None) or e}"
        return session.status()

    def stop(self) -> str:
        session = self.ctx.realtime
        if not session.running:
            return "nothing is running\n\n" + session.status()
        if not session.stop():
            return "stopping (the model is still loading) ...\n\n" + session.status()
        return session.status()

    def view(self, shown: str | None) -> tuple[str, Any, str | None]:
        """Timer tick: the status, and the simulated output once written (unchanged otherwise)."""
        session = self.ctx.realtime
        out = session.output
        if out and out != shown:
            return session.status(), out, out
        return session.status(), gr.skip(), shown

    def refresh_devices(self):
        ins, d_in, outs, d_out, message = device_pickers()
        return gr.Dropdown(choices=ins, value=d_in), gr.Dropdown(choices=outs, value=d_out), message


def mic_js(dests: list[str]) -> str:
    """The Start button's browser code: installs ``window.arvcMic`` (assets/ws_mic.js) and starts it with the
    tab's model, index and the values of ``dests`` (the options a client may set, plus the playback headroom)."""
    from arvc.ui.app import ASSETS

    allowed = [d for d in dests if d in CLIENT_OPTIONS and d != "sample_rate"] + ["headroom_ms"]
    return ("(model, index, ...values) => {\n" + (ASSETS / "ws_mic.js").read_text(encoding="utf-8") +
            f"\nconst names = {json.dumps(dests)}, allowed = {json.dumps(allowed)}, options = {{}};\n"
            "names.forEach((k, i) => { const v = values[i];\n"
            "  if (allowed.includes(k) && v !== null && v !== undefined && v !== '') options[k] = v; });\n"
            "window.arvcMic.start(model, index, options);\nreturn [];\n}")


def _mic_section(model, index, controls: Controls) -> None:
    """Browser microphone -> ``/api/ws-audio`` -> the browser's speakers (:mod:`arvc.ui.ws_audio`)."""
    with gr.Accordion("Browser microphone (this computer's microphone, converted on the server)", open=True):
        gr.Markdown("Streams your browser's microphone to this server (48 kHz over a WebSocket) with the settings "
                    "above and plays the converted voice back; works when the server has no sound card. "
                    "**Save recording** downloads the converted stream as WAV.")
        gr.HTML(MIC_HTML, elem_id="realtime-mic")
        with gr.Row():
            start = gr.Button("Start browser microphone", variant="primary", elem_id="realtime-mic-start")
            stop = gr.Button("Stop", variant="stop", elem_id="realtime-mic-stop")
            save = gr.Button("Save recording", elem_id="realtime-mic-save")
            devices = gr.Button("Refresh devices", elem_id="realtime-mic-devices")
    dests = list(controls.components)
    start.click(None, inputs=[model, index, *controls.inputs()], js=mic_js(dests), api_name=False)
    stop.click(None, js="() => { window.arvcMic && window.arvcMic.stop(); return []; }", api_name=False)
    save.click(None, js="() => { window.arvcMic && window.arvcMic.save(); return []; }", api_name=False)
    devices.click(None, js="() => { window.arvcMic && window.arvcMic.devices(); return []; }", api_name=False)


def realtime_tab(ctx) -> RealtimeTab:
    """Build the tab's components in the current Blocks context and wire them; returns them."""
    models = ctx.models()
    first = library.first_voice(models)
    with gr.Row():
        model = gr.Dropdown(choices=models, value=first, label="model", info="voice model (.pth) from the models "
                            "folder and logs/*/", allow_custom_value=True, scale=3, elem_id="realtime-model")
        index = gr.Textbox(value=library.paired_index(first) or "", label="index", scale=3, elem_id="realtime-index",
                           info="retrieval index; filled from the model's folder, can be changed")
        refresh = gr.Button("Refresh models", scale=1)
    ins, d_in, outs, d_out, message = device_pickers()
    with gr.Row():
        input_device = gr.Dropdown(choices=ins, value=d_in, label="input device", info="microphone",
                                   elem_id="realtime-input-device", scale=3)
        output_device = gr.Dropdown(choices=outs, value=d_out, label="output device", info="speakers / virtual cable",
                                    elem_id="realtime-output-device", scale=3)
        refresh_devices = gr.Button("Refresh devices", scale=1)
    devices_note = gr.Markdown(message, elem_id="realtime-devices")
    with gr.Row():
        simulate = gr.Checkbox(value=not ins or not outs, label="simulate from file", elem_id="realtime-simulate",
                               info="stream a file through the same block loop instead of the devices (no sound card "
                                    "needed); the converted file appears below")
        sim_input = gr.Audio(type="filepath", sources=["upload"], label="input file", elem_id="realtime-sim-input")
    with gr.Accordion("Live settings", open=True):
        controls = build_controls(REALTIME)
    with gr.Row():
        start = gr.Button("Start", variant="primary", elem_id="realtime-start")
        stop = gr.Button("Stop", variant="stop", elem_id="realtime-stop")
    status = gr.Markdown(ctx.realtime.status(), elem_id="realtime-status")
    sim_output = gr.Audio(label="simulated output", type="filepath", interactive=False, elem_id="realtime-sim-output")
    _mic_section(model, index, controls)
    shown = gr.State(None)
    tab = RealtimeTab(ctx, model, index, input_device, output_device, devices_note, simulate, sim_input, controls,
                      start, stop, status, sim_output)

    refresh.click(lambda current: gr.Dropdown(choices=ctx.models(), value=current), inputs=model, outputs=model,
                  api_name=False)
    model.change(lambda m: library.paired_index(m) or "", inputs=model, outputs=index, api_name=False)
    refresh_devices.click(tab.refresh_devices, outputs=[input_device, output_device, devices_note], api_name=False)
    start.click(tab.start, inputs=tab.inputs(), outputs=status, api_name="realtime_start")
    stop.click(tab.stop, outputs=status, api_name="realtime_stop")
    gr.Timer(1.0).tick(tab.view, inputs=shown, outputs=[status, sim_output, shown], api_name=False,
                       show_progress="hidden")
    return tab
