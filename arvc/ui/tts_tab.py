"""TTS tab: text → speech (espeak-ng offline, or Edge voices online) → the chosen voice, through ``arvc tts``."""

from __future__ import annotations

import gradio as gr

from arvc.api.options import TTS
from arvc.library.available import default_f0
from arvc.ui import library
from arvc.ui.common import wait
from arvc.ui.controls import build_controls, page_words


def build(ctx, shell) -> None:
    with gr.Row():
        voice = shell.voice_dropdown(ctx, preselect=True, elem_id="tts-model", scale=2)
        text = gr.Textbox(label="Text", lines=3, elem_id="tts-text", scale=3)
    with gr.Row():
        engine = build_controls(TTS, only=("tts_engine", "tts_voice", "tts_rate"), advanced=False)
    run = gr.Button("Speak", variant="primary", elem_id="tts-button")
    with gr.Row():
        spoken = gr.Audio(label="Converted speech", type="filepath", interactive=False, elem_id="tts-audio")
        plain = gr.Audio(label="Plain TTS", type="filepath", interactive=False)
    status = gr.Markdown(elem_id="tts-status")
    with gr.Accordion("Advanced", open=False):
        conv = build_controls(TTS, skip=("text", "tts_file", "tts_engine", "tts_voice", "tts_rate"),
                              defaults={"f0_method": default_f0().value})

    def on_speak(model, words, *raw):
        if not model:
            raise gr.Error("Voice: choose a voice first")
        if not (words or "").strip():
            raise gr.Error("Text: type what to say")
        model = ctx.path(model, "Voice")
        out = ctx.new_dir("tts")
        n = len(engine.inputs())
        values = engine.values(raw[:n])
        index = library.paired_index(model)
        argv = ctx.argv(conv, raw[n:], text=words.strip(), model=model, index=index, output=str(out / "speech.wav"),
                        output_tts=str(out / "tts.wav"), **values)
        job = wait(ctx.jobs.submit("tool", "tts", [argv]))
        if job.state != "done":
            raise gr.Error(page_words("; ".join(job.errors()) or job.log(3), [TTS]))
        return str(out / "speech.wav"), str(out / "tts.wav"), f"done in {job.ended - job.started:.1f} s"

    run.click(on_speak, inputs=[voice, text, *engine.inputs(), *conv.inputs()], outputs=[spoken, plain, status],
              api_name="tts")
