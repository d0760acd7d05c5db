"""Convert tab: a voice, the input (files, a microphone recording or a server folder), pitch, Convert; the result
near the top, every other setting in a closed "Advanced" group. A batch is one ``arvc infer`` job with a row
per file; uploading a ``.pth``/``.index``/``.zip`` adds a voice through the model library."""

from __future__ import annotations

import json
import time
from pathlib import Path

import gradio as gr

from arvc.api.options import INFER
from arvc.api.tables import argv_for
from arvc.library.available import default_f0
from arvc.ui import library
from arvc.ui.common import audio_files, batch_state, file_rows, wait
from arvc.ui.controls import build_controls, control, page_words
from arvc.ui.sovits_controls import SovitsControls


def _unique_inputs(paths: list[Path], staging: Path) -> list[tuple[Path, Path]]:
    """``(original, path given to infer)``: files whose stem repeats get a symlink with a new stem, since the
    outputs of one run are named by stem."""
    out, stems = [], set()
    for src in paths:
        given, k = src, 2
        while given.stem in stems:
            staging.mkdir(parents=True, exist_ok=True)
            given, k = staging / f"{src.stem}_{k}{src.suffix}", k + 1
        if given != src:
            given.symlink_to(src.resolve())
        stems.add(given.stem)
        out.append((src, given))
    return out


def convert_rows(job, items: list[tuple[Path, Path]], out_dir: Path, fmt: str) -> tuple[list, list[str]]:
    """``(name, state, message)`` per input of the batch job and the outputs written so far."""
    failed = job.failed_files()
    written = {a["path"] for a in job.artifacts("audio")}
    progress = job.progress("infer")
    rows, done = [], []
    for k, (src, given) in enumerate(items):
        dst = (out_dir / f"{given.stem}.{fmt}").resolve()
        error = failed.get(str(src.resolve())) or failed.get(str(given))
        if error:
            rows.append((src.name, "failed", page_words(error.replace(str(src.resolve()), src.name), [INFER])))
        elif str(dst) in written:
            rows.append((src.name, "done", dst.name))
            done.append(str(dst))
        elif job.settled:
            rows.append((src.name, "failed" if job.outcome != "stopped" else "stopped",
                         "; ".join(page_words(e, [INFER]) for e in job.errors()) or job.outcome))
        else:
            current = job.state == "running" and progress is not None and k == int(progress.get("done") or 0)
            rows.append((src.name, "running" if current else "queued", ""))
    return rows, done


def _presets(controls, pitch):
    """Save the Advanced settings (and pitch) as JSON / load them back."""
    with gr.Row():
        save = gr.Button("Save settings as preset")
        preset_file = gr.File(label="preset (JSON)", file_types=[".json"], elem_id="convert-preset")
    dests = ["pitch", *controls.components]

    def on_save(p, *raw):
        import tempfile

        from arvc.ui.guard import upload_root

        values = {"pitch": p, **controls.values(raw)}
        upload_root().mkdir(parents=True, exist_ok=True)  # removed with the server's uploads
        path = Path(tempfile.mkdtemp(prefix="arvc-preset-", dir=upload_root())) / "arvc-preset.json"
        path.write_text(json.dumps(values, indent=2))
        return str(path)

    def on_load(f):
        if not f:
            return [gr.update() for _ in dests]
        try:
            values = json.loads(Path(f).read_text(encoding="utf-8"))
            assert isinstance(values, dict)
        except (OSError, ValueError, AssertionError):
            raise gr.Error("preset: not a JSON object of settings") from None
        return [gr.update(value=values[d]) if d in values else gr.update() for d in dests]

    save.click(on_save, inputs=[pitch, *controls.inputs()], outputs=preset_file, api_name="save_preset")
    preset_file.upload(on_load, inputs=preset_file, outputs=[pitch, *controls.inputs()], api_name="load_preset")


def _add_voice(ctx, shell):
    with gr.Accordion("Add a voice (.pth, .index or .zip)", open=False):
        with gr.Row():
            upload = gr.File(label="voice file", file_types=[".pth", ".index", ".zip"], elem_id="voice-upload")
            name = gr.Textbox(label="voice name", info="optional for a model; an index is attached to this voice",
                              elem_id="voice-name")
        add = gr.Button("Add voice", elem_id="voice-add")
        result = gr.Markdown(elem_id="voice-added")

    def on_add(f, n, current):
        if not f:
            raise gr.Error("Voice file: choose a .pth, .index or .zip to upload")
        path = ctx.path(f, "voice file", uploads=True)
        values = {"source": path, "name": ctx.name(n, "voice name") if (n or "").strip() else None}
        job = wait(ctx.jobs.submit("tool", f"add voice {Path(path).name}", [argv_for("models add", values)]))
        if job.state != "done":
            raise gr.Error("; ".join(job.errors()) or job.log(3))
        added = [a["path"] for a in job.artifacts("model")]
        names = ", ".join(a.get("name", "") for a in job.artifacts("model"))
        return f"added {names}", gr.update(choices=ctx.voices(), value=added[0] if added else current)

    add.click(on_add, inputs=[upload, name, shell.convert_voice], outputs=[result, shell.convert_voice],
              api_name="add_voice")


def build(ctx, shell) -> None:
    voices = ctx.voices()
    first = library.first_voice(voices)
    with gr.Row():
        voice = gr.Dropdown(choices=voices, value=first, label="Voice", info="models folder and trained voices",
                            allow_custom_value=True, elem_id="convert-model", scale=3)
        speaker = SovitsControls.speaker_choice(INFER, first, elem_id="convert-speaker")
        pitch = control(INFER.get("pitch"), 0, elem_id="convert-pitch", table=INFER)
    shell.convert_voice = shell.voice_list(ctx, voice)
    with gr.Row(equal_height=True):
        files = gr.File(file_count="multiple", label="Audio files", file_types=["audio"], elem_id="convert-upload",
                        height=150, scale=2)
        mic = gr.Audio(sources=["microphone"], type="filepath", label="or record", elem_id="convert-mic", scale=2)
        folder = gr.Textbox(label="or a folder on the server", info="every audio file below it", scale=1)
    run = gr.Button("Convert", variant="primary", elem_id="convert-button")
    status = gr.HTML(elem_id="convert-status")
    audio = gr.Audio(label="Result", type="filepath", interactive=False, elem_id="convert-audio")
    outputs = gr.File(label="Converted files", file_count="multiple", interactive=False, elem_id="convert-files")
    with gr.Accordion("Advanced", open=False):
        index = gr.Textbox(value=library.paired_index(first) or "", label="Index",
                           info="retrieval index; found beside the voice", elem_id="convert-index")
        svc = SovitsControls.build(INFER, speaker, first)
        controls = build_controls(INFER, skip=("pitch",), defaults={"f0_method": default_f0().value})
        _presets(controls, pitch)
    _add_voice(ctx, shell)

    def on_convert(model_path, index_path, p, uploads, recording, server_folder, *raw):
        if not model_path:
            raise gr.Error("Voice: choose a voice first (or add one below)")
        model_path = ctx.path(model_path, "Voice")
        raw, family_values = raw[:len(controls.components)], svc.values(model_path, raw[len(controls.components):])
        index_path = ctx.path(index_path, "Index") if index_path and index_path.strip() else None
        inputs = [Path(ctx.path(f, "Audio files", uploads=True)) for f in (uploads or [])]
        if recording:
            inputs.append(Path(ctx.path(recording, "recording", uploads=True)))
        if server_folder and server_folder.strip():
            inputs += audio_files(ctx, server_folder.strip())
        if not inputs:
            raise gr.Error("Audio files: upload audio, record, or give a folder on the server")
        fmt = controls.values(raw).get("format") or "wav"
        out_dir = ctx.new_dir("convert")
        items = _unique_inputs(inputs, out_dir / "inputs")
        argv = ctx.argv(controls, raw, model=model_path, index=index_path, pitch=p,
                        input=[str(g) for _, g in items], output=str(out_dir / "out"), format=fmt, **family_values)
        job = ctx.jobs.submit("convert", f"convert {len(items)} file(s)", [argv])
        while True:
            finished = job.settled
            rows, done = convert_rows(job, items, out_dir / "out", fmt)
            failed = sum(1 for r in rows if r[1] == "failed")
            head = (f"<p><b>{batch_state(job, len(done), failed)}</b>: {len(done)} converted, {failed} failed, "
                    f"{len(items) - len(done) - failed} to go</p>")
            yield done, (done[0] if done else None), head + file_rows(rows)
            if finished:
                return
            time.sleep(0.5)

    voice.change(lambda m: library.paired_index(m) or "", inputs=voice, outputs=index, api_name=False)
    svc.follow(voice)
    run.click(on_convert, inputs=[voice, index, pitch, files, mic, folder, *controls.inputs(), *svc.inputs()],
              outputs=[outputs, audio, status], api_name="convert", concurrency_limit=None)
