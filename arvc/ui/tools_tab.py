"""Model tools (model info, voice blender, ONNX export) and Evaluate tabs: each runs one ``arvc`` command as a
job and shows its result."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from arvc.api.options_tools import EVALUATE, MODEL_MERGE
from arvc.api.tables import argv_for
from arvc.ui.common import wait
from arvc.ui.controls import control
from arvc.ui.jobs import Job


def build(ctx, shell) -> None:
    def run_tool(title: str, argv: list[str]) -> Job:
        return wait(ctx.jobs.submit("tool", title, [argv]))

    def result_text(job: Job) -> str:
        lines = [ln for ln in job.lines if not ln.startswith("$ ")]
        return "\n".join(lines[-60:])

    with gr.Tab("Model info"):
        m = shell.voice_dropdown(ctx)
        b = gr.Button("Show info")
        out = gr.Textbox(label="info", lines=14)
        b.click(lambda p: result_text(run_tool("model-info", argv_for("model-info", {"model": ctx.path(p, "model")})))
                if p else "choose a model", inputs=m, outputs=out, api_name="model_info")
    with gr.Tab("Voice blender"):
        with gr.Row():
            a = shell.voice_dropdown(ctx, "Voice A")
            bm = shell.voice_dropdown(ctx, "Voice B")
        ratio = control(MODEL_MERGE.get("ratio"), MODEL_MERGE.get("ratio").default_from(MODEL_MERGE.config),
                        table=MODEL_MERGE)
        new_name = gr.Textbox(label="name of the blend", value="blend")
        b2 = gr.Button("Merge")
        log2 = gr.Textbox(label="result", lines=4)
        file2 = gr.File(label="merged model", interactive=False)

        def merge(pa, pb, r, nm):
            if not pa or not pb:
                raise gr.Error("choose two models")
            nm = ctx.name(nm or "blend", "name of the blend")
            pa, pb = ctx.path(pa, "model A"), ctx.path(pb, "model B")
            dst = ctx.output_dir / "models" / nm / f"{nm}.pth"
            dst.parent.mkdir(parents=True, exist_ok=True)
            job = run_tool("model-merge", argv_for("model-merge", {"model_a": pa, "model_b": pb, "output": str(dst),
                                                                   "ratio": r, "name": nm}))
            return result_text(job), (str(dst) if job.state == "done" else None)

        b2.click(merge, inputs=[a, bm, ratio, new_name], outputs=[log2, file2], api_name="model_merge")
    with gr.Tab("ONNX export"):
        m3 = shell.voice_dropdown(ctx)
        b3 = gr.Button("Export")
        log3 = gr.Textbox(label="result", lines=4)
        file3 = gr.File(label="ONNX file", interactive=False)

        def export(p):
            if not p:
                raise gr.Error("choose a model")
            p = ctx.path(p, "model")
            dst = ctx.new_dir("onnx") / f"{Path(p).stem}.onnx"
            job = run_tool("export-onnx", argv_for("export-onnx", {"model": p, "output": str(dst)}))
            return result_text(job), (str(dst) if job.state == "done" else None)

        b3.click(export, inputs=m3, outputs=[log3, file3], api_name="export_onnx")


# ------------------------------------------------------------------------------------------------ Evaluate
def eval_argv(ctx, out: Path, files, folder, ref, src, txt, p, use_asr, use_mos) -> list[str]:
    """``arvc evaluate`` argv of the tab's fields: every path checked and absolute (never read as an option)."""
    inputs = [ctx.path(str(f), "converted file", uploads=True) for f in (files or [])]
    if folder and folder.strip():
        inputs.append(ctx.path(folder, "folder of converted files"))
    if not inputs:
        raise gr.Error("give converted files or a folder")
    try:
        pitch = float(p or 0)
    except (TypeError, ValueError):
        raise gr.Error(f"pitch {str(p)[:20]!r} is not a number") from None
    values = {"input": inputs, "output_dir": str(out), "pitch": pitch, "asr": bool(use_asr),
              "mos": bool(use_mos)}
    for dest, value, what in (("reference", ref, "reference folder"), ("source", src, "source folder"),
                              ("text", txt, "transcripts")):
        if value and value.strip():
            values[dest] = [ctx.path(value, what)] if dest != "text" else ctx.path(value, what)
    return argv_for("evaluate", values)


def evaluate(ctx) -> None:
    with gr.Row():
        converted = gr.File(file_count="multiple", label="converted files")
        converted_dir = gr.Textbox(label="or a folder of converted files on the server")
    with gr.Row():
        refs = gr.Textbox(label="reference recordings (folder on the server)", info="the target speaker")
        sources = gr.Textbox(label="source recordings (folder, optional)", info="the unconverted inputs")
        text = gr.Textbox(label="transcripts (file or folder, optional)", info="enables CER")
    with gr.Row():
        pitch, asr, mos = (control(EVALUATE.get(d), EVALUATE.get(d).default_from(EVALUATE.config), table=EVALUATE)
                           for d in ("pitch", "asr", "mos"))
    b = gr.Button("Evaluate", variant="primary")
    table = gr.Textbox(label="scores", lines=12)
    pictures = gr.Gallery(label="spectrogram / F0", columns=2)

    def run_eval(files, folder, ref, src, txt, p, use_asr, use_mos):
        out = ctx.new_dir("eval")
        argv = eval_argv(ctx, out, files, folder, ref, src, txt, p, use_asr, use_mos)
        job = wait(ctx.jobs.submit("tool", "evaluate", [argv]))
        lines = [ln for ln in job.lines if not ln.startswith(("$ ", "INFO", "WARNING"))]
        return "\n".join(lines[-80:]), sorted(str(p) for p in out.rglob("*.png"))

    b.click(run_eval, inputs=[converted, converted_dir, refs, sources, text, pitch, asr, mos],
            outputs=[table, pictures], api_name="evaluate")
