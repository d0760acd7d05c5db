"""Cover tab: song → vocal / instrumental separation → conversion of the vocal → mix, through ``arvc cover``;
every stem playable. Stems you already have (vocals + instrumental) skip the separation."""

from __future__ import annotations

import gradio as gr

from arvc.api.options import COVER
from arvc.library.available import default_f0
from arvc.ui import library
from arvc.ui.common import wait
from arvc.ui.controls import build_controls, control, page_words

STEMS = ("mix", "converted_vocals", "vocals", "instrumental")


def build(ctx, shell) -> None:
    with gr.Row():
        voice = shell.voice_dropdown(ctx, preselect=True, elem_id="cover-model", scale=3)
        pitch = control(COVER.get("pitch"), 0, elem_id="cover-pitch", table=COVER)
    with gr.Row():
        song = gr.File(label="Song", file_types=["audio"], elem_id="cover-song", height=120)
        vocals = gr.File(label="or its vocals", file_types=["audio"], elem_id="cover-vocals", height=120)
        instrumental = gr.File(label="and its instrumental", file_types=["audio"], elem_id="cover-instrumental",
                               height=120)
    run = gr.Button("Make cover", variant="primary", elem_id="cover-button")
    status = gr.Markdown(elem_id="cover-status")
    with gr.Row():
        players = [gr.Audio(label=s.replace("_", " "), type="filepath", interactive=False, elem_id=f"cover-{s}")
                   for s in STEMS]
    with gr.Accordion("Advanced", open=False):
        controls = build_controls(COVER, skip=("song", "pitch"), defaults={"f0_method": default_f0().value})

    def on_cover(model, p, s, v, i, *raw):
        if not model:
            raise gr.Error("Voice: choose a voice first")
        if not s and not (v and i):
            raise gr.Error("Song: upload a song, or its vocals and instrumental")
        model = ctx.path(model, "Voice")
        out = ctx.new_dir("cover")
        stems = {"vocals": ctx.path(v, "vocals", uploads=True), "instrumental": ctx.path(i, "instrumental",
                                                                                         uploads=True)} \
            if v and i else {"song": ctx.path(s, "Song", uploads=True)}
        argv = ctx.argv(controls, raw, model=model, index=library.paired_index(model), pitch=p,
                        output_dir=str(out), **stems)
        job = wait(ctx.jobs.submit("tool", "cover", [argv]))
        if job.state != "done":
            raise gr.Error(page_words("; ".join(job.errors()) or job.log(3), [COVER]))
        by_stem = {a.get("stem"): a["path"] for a in job.artifacts("audio")}
        found = [by_stem.get(k) for k in STEMS]
        return [f"done in {job.ended - job.started:.1f} s: " + ", ".join(k for k in by_stem if k), *found]

    run.click(on_cover, inputs=[voice, pitch, song, vocals, instrumental, *controls.inputs()],
              outputs=[status, *players], api_name="cover")
