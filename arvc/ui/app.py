"""The arvc web UI (Gradio): Convert, Realtime, Train, Downloads, Model tools and Evaluate tabs.

Every action runs an ``arvc`` command (the same stage functions the CLI calls) as a background job of
:class:`~arvc.ui.jobs.JobManager`; this module only builds argv's and shows files, logs and tables. The
Realtime tab (:mod:`arvc.ui.realtime_tab`) runs its stage in a thread of the server instead, for its live
statistics.
"""

from __future__ import annotations

import html
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from arvc.api.options import CREATE_INDEX, EXTRACT, INFER, PREPROCESS
from arvc.api.options_tools import EVALUATE, MODEL_MERGE
from arvc.api.options_train import TRAIN
from arvc.api.tables import argv_for
from arvc.errors import ArvcError
from arvc.paths import datasets_root, logs_root, models_root
from arvc.safe_paths import plain_name, under_roots
from arvc.ui import library
from arvc.ui.controls import Controls, build_controls, control
from arvc.ui.guard import PATH_OPTIONS, default_roots, scan_audio, upload_root
from arvc.ui.jobs import Job, JobManager
from arvc.ui.realtime_session import RealtimeSession

ASSETS = Path(__file__).parent / "assets"
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".mp4", ".aac", ".wma", ".aiff", ".aif", ".webm",
                  ".ac3", ".alac"}
HEADER = ("# arvc\nRetrieval-based Voice Conversion: convert, train, download and evaluate voice models. "
          "Every button runs the same `arvc` command as the terminal.")


@dataclass
class UIContext:
    """Where the UI keeps uploads and outputs, the jobs it runs and its realtime session."""

    output_dir: Path
    jobs: JobManager
    realtime: RealtimeSession = field(default_factory=RealtimeSession)
    roots: tuple[Path, ...] = field(default_factory=lambda: tuple(default_roots()))
    scan_cancel: threading.Event = field(default_factory=threading.Event)
    tensorboards: dict[str, tuple[Job, int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def path(self, value: str, what: str, uploads: bool = False) -> str:
        """The absolute, resolved form of a path typed into the UI, if it lies in an allowed root (or, with
        ``uploads``, in Gradio's upload folder); gr.Error otherwise. Never starts with ``-``."""
        roots = (*self.roots, self.output_dir, *((upload_root(),) if uploads else ()))
        try:
            return str(under_roots(value, roots, what))
        except ArvcError as e:
            raise gr.Error(str(e)) from None

    def name(self, value: str | None, what: str) -> str:
        """A plain name typed into the UI (gr.Error for ``../x``, ``a/b``, newlines...)."""
        try:
            return plain_name((value or "").strip(), what)
        except ArvcError as e:
            raise gr.Error(str(e)) from None

    def argv(self, controls: Controls, raw, **fixed) -> list[str]:
        """The ``arvc`` command line (command first) of ``controls``' values plus ``fixed``, with every path-valued
        option typed into the page checked by :meth:`path`."""
        values = {**controls.values(raw), **fixed}
        for dest in PATH_OPTIONS:
            if dest in controls.components and isinstance(values.get(dest), str) and values[dest].strip():
                values[dest] = self.path(values[dest], dest)
        return argv_for(controls.options.command, values)

    def new_dir(self, kind: str) -> Path:
        d = self.output_dir / kind / (time.strftime("%Y%m%d-%H%M%S-") + f"{time.time_ns() % 1_000_000:06d}")
        d.mkdir(parents=True, exist_ok=True)
        return d

    def models(self) -> list[str]:
        return library.voice_models(models_root(), logs_root(), extra=(self.output_dir / "models",))


def wait(job: Job, poll: float = 0.25) -> Job:
    while not job.done.wait(poll):
        pass
    return job


def _audio_files(ctx: UIContext, folder: str) -> list[Path]:
    """The audio files below a server folder in the allowed roots (bounded, cancellable scan)."""
    root = Path(ctx.path(folder, "server folder"))
    if not root.is_dir():
        raise gr.Error(f"{folder}: not a folder on the server")
    ctx.scan_cancel.clear()
    try:
        return scan_audio(root, AUDIO_SUFFIXES, ctx.scan_cancel)
    except ArvcError as e:
        raise gr.Error(str(e)) from None


def _file_rows(rows: list[tuple[str, str, str]]) -> str:
    """An HTML table with a progress bar per file: ``(name, state, message)``."""
    out = ["<table class='arvc-files'><tr><th>file</th><th>progress</th><th>result</th></tr>"]
    for name, state, msg in rows:
        bar = {"queued": "<progress max='1' value='0'></progress>", "running": "<progress></progress>",
               "done": "<progress max='1' value='1'></progress>"}.get(state, "<progress max='1' value='1'></progress>")
        out.append(f"<tr><td>{html.escape(name)}</td><td>{bar} {state}</td><td>{html.escape(msg)}</td></tr>")
    return "\n".join(out) + "</table>"


# ------------------------------------------------------------------------------------------------- Convert
def _batches(inputs: list[Path]) -> list[list[Path]]:
    """One ``arvc infer`` per batch (models loaded once); file stems unique within a batch."""
    batches: list[list[Path]] = []
    for src in inputs:
        target = next((b for b in batches if src.stem not in {p.stem for p in b}), None)
        if target is None:
            batches.append(target := [])
        target.append(src)
    return batches


def _convert_rows(jobs: list) -> tuple[list[tuple[str, str, str]], list[str]]:
    """``(name, state, message)`` per ``(source, output, job)`` and the outputs done so far."""
    rows, done = [], []
    for src, dst, job in jobs:
        failed = job.failed_files().get(str(Path(src).resolve()))
        written = {a["path"] for a in job.artifacts("audio")}
        if failed:
            rows.append((src.name, "failed", failed.replace(str(src), src.name)))
        elif str(Path(dst).resolve()) in written:
            rows.append((src.name, "done", dst.name))
            done.append(str(dst))
        elif job.finished:
            rows.append((src.name, "failed", "; ".join(job.errors()) or job.log(3) or job.state))
        else:
            rows.append((src.name, "running" if job.state == "running" else "queued", ""))
    seen: set[int] = set()  # only the first unfinished file of a running job is converting now
    for k, (row, (_, _, job)) in enumerate(zip(rows, jobs)):
        if row[1] == "running":
            if job.id in seen:
                rows[k] = (row[0], "queued", "")
            seen.add(job.id)
    return rows, done


def convert_tab(ctx: UIContext) -> None:
    models = ctx.models()
    first = models[0] if models else None
    with gr.Row():
        model = gr.Dropdown(choices=models, value=first, label="model", info="voice model (.pth) from the models folder and "
                            "logs/*/", allow_custom_value=True, scale=3, elem_id="convert-model")
        index = gr.Textbox(value=library.paired_index(first) or "", label="index", info="retrieval index; filled from the model's folder, can be changed",
                           elem_id="convert-index",
                           scale=3)
        refresh = gr.Button("Refresh models", scale=1)
    with gr.Row():
        files = gr.File(file_count="multiple", label="audio files", file_types=["audio"], elem_id="convert-upload")
        folder = gr.Textbox(label="or a folder on the server", info="every audio file below it is converted")
    with gr.Accordion("Conversion settings", open=True):
        controls = build_controls(INFER)
    run = gr.Button("Convert", variant="primary", elem_id="convert-button")
    status = gr.HTML(label="progress", elem_id="convert-status")
    audio = gr.Audio(label="result", type="filepath", interactive=False, elem_id="convert-audio")
    outputs = gr.File(label="converted files", file_count="multiple", interactive=False, elem_id="convert-files")

    def on_refresh(current):
        return gr.Dropdown(choices=ctx.models(), value=current)

    def on_model(m):
        return library.paired_index(m) or ""

    def on_convert(model_path, index_path, uploads, server_folder, *raw):
        if not model_path:
            raise gr.Error("choose a model first")
        model_path = ctx.path(model_path, "model")
        index_path = ctx.path(index_path, "index") if index_path and index_path.strip() else None
        inputs = [Path(ctx.path(f, "upload", uploads=True)) for f in (uploads or [])]
        if server_folder and server_folder.strip():
            inputs += _audio_files(ctx, server_folder.strip())
        if not inputs:
            raise gr.Error("upload audio files or give a folder on the server")
        values = controls.values(raw)
        fmt = values.get("format") or "wav"
        out_dir = ctx.new_dir("convert")
        jobs = []
        for i, batch in enumerate(_batches(inputs)):
            dst = out_dir / str(i)
            argv = ctx.argv(controls, raw, model=model_path, index=index_path or None,
                            input=[str(p) for p in batch], output=str(dst), format=fmt)
            job = ctx.jobs.submit("convert", f"convert {len(batch)} file(s)", [argv])
            jobs += [(src, dst / f"{src.stem}.{fmt}", job) for src in batch]
        while True:
            rows, done = _convert_rows(jobs)
            finished = all(j.finished for _, _, j in jobs)
            failed = sum(1 for r in rows if r[1] == "failed")
            summary = f"<p>{len(done)} converted, {failed} failed, {len(jobs) - len(done) - failed} to go</p>"
            yield done, (done[0] if done else None), summary + _file_rows(rows)
            if finished:
                return
            time.sleep(0.5)

    refresh.click(on_refresh, inputs=model, outputs=model, api_name=False)
    model.change(on_model, inputs=model, outputs=index, api_name=False)
    run.click(on_convert, inputs=[model, index, files, folder, *controls.inputs()], outputs=[outputs, audio, status],
              api_name="convert", concurrency_limit=None)


# --------------------------------------------------------------------------------------------------- Train
def _train_steps(ctx: UIContext, forms: tuple, counts: list[int], raw: tuple,
                 which: tuple[str, ...]) -> list[list[str]]:
    """The ``arvc`` command lines of the chosen Train-tab stages, from the tab's raw control values."""
    pre, ext, idx, trn = forms
    model_name, data, files, use_custom, g, d, *rest = raw
    model_name = ctx.name(model_name, "model name")
    a, b, c = counts[0], counts[0] + counts[1], counts[0] + counts[1] + counts[2]
    p_raw, e_raw, i_raw, t_raw = rest[:a], rest[a:b], rest[b:c], rest[c:]
    version = ext.values(e_raw).get("version")
    sample_rate = pre.values(p_raw).get("sample_rate")
    out = []
    if "preprocess" in which:
        data_path = ctx.path(data, "dataset folder") if (data or "").strip() else None
        if files:
            target = datasets_root() / model_name
            target.mkdir(parents=True, exist_ok=True)
            for f in files:
                shutil.copy(ctx.path(f, "upload", uploads=True), target / Path(f).name)
            data_path = str(target)
        out.append(ctx.argv(pre, p_raw, model_name=model_name, dataset_path=data_path))
    if "extract" in which:
        out.append(ctx.argv(ext, e_raw, model_name=model_name))
    if "index" in which:
        out.append(ctx.argv(idx, i_raw, model_name=model_name, version=version))
    if "train" in which:
        fixed = {"model_name": model_name}
        if use_custom:
            if not g or not d:
                raise gr.Error("Custom Pretrained: choose both a G and a D file")
            fixed.update(pretrained_g=ctx.path(g, "pretrained G"), pretrained_d=ctx.path(d, "pretrained D"))
        if "preprocess" in which:
            fixed.update(sample_rate=sample_rate, version=version)
        out.append(ctx.argv(trn, t_raw, **fixed))
    return out


def _train_view(ctx: UIContext):
    """Status, log tail and loss curve of the newest training job."""
    job = ctx.jobs.latest("train")
    if job is None:
        return "no training job yet", "", None
    import pandas as pd

    losses = job.losses()
    frame = pd.DataFrame(losses, columns=["step", "generator loss"]) if losses else None
    return job.status(), job.log(200), frame


def _open_tensorboard(ctx: UIContext, model_name: str) -> str:
    """Start TensorBoard on a free loopback port for one run (a plain experiment name under logs/), or link the
    one already serving it: at most one TensorBoard process per run."""
    if not (model_name or "").strip():
        raise gr.Error("give the model name whose run to show")
    model_name = ctx.name(model_name, "model name")
    logdir = logs_root() / model_name / "eval"
    if not logdir.is_dir():
        raise gr.Error(f"{model_name}: no training logs in {logdir}")
    with ctx.lock:
        running = ctx.tensorboards.get(model_name)
        if running is None or running[0].finished:
            port = _free_port()
            job = ctx.jobs.submit("service", f"tensorboard {model_name}", [
                argv_for("tensorboard", {"logs_dir": str(logdir), "host": "127.0.0.1", "port": port})])
            running = ctx.tensorboards[model_name] = (job, port)
    url = f"http://127.0.0.1:{running[1]}/"
    return f"TensorBoard for {model_name}: [{url}]({url}) (loopback only)"


def train_tab(ctx: UIContext) -> None:
    with gr.Row():
        name = gr.Textbox(label="model name", info="experiment folder under logs/", elem_id="train-name")
        dataset = gr.Textbox(label="dataset folder on the server", info="one sub-folder per speaker for several",
                             elem_id="train-dataset")
        uploads = gr.File(file_count="multiple", label="or upload recordings", file_types=["audio"])
    with gr.Accordion("1. Preprocess", open=False):
        pre = build_controls(PREPROCESS, skip=("dataset_path",))
    with gr.Accordion("2. Extract features", open=False):
        ext = build_controls(EXTRACT)
    with gr.Accordion("3. Index", open=False):
        idx = build_controls(CREATE_INDEX)
    with gr.Accordion("4. Train", open=True):
        with gr.Row():
            custom = gr.Checkbox(label="Custom Pretrained", value=False, info="start from a G and D pretrain")
            g_file = gr.Dropdown(choices=library.pretrains(models_root(), "G"), label="pretrained G",
                                 allow_custom_value=True)
            d_file = gr.Dropdown(choices=library.pretrains(models_root(), "D"), label="pretrained D",
                                 allow_custom_value=True)
            refresh = gr.Button("Refresh pretrains")
        trn = build_controls(TRAIN, skip=("sample_rate", "version", "pretrained_g", "pretrained_d"))
    with gr.Row():
        b_pre = gr.Button("Preprocess")
        b_ext = gr.Button("Extract")
        b_idx = gr.Button("Create index")
        b_train = gr.Button("Train", variant="primary", elem_id="train-button")
        b_all = gr.Button("Run all", variant="primary", elem_id="run-all-button")
        b_stop = gr.Button("Stop", variant="stop", elem_id="stop-button")
        b_tb = gr.Button("Open TensorBoard")
    status = gr.Markdown(elem_id="train-status")
    tb_link = gr.Markdown()
    with gr.Row():
        log = gr.Textbox(label="log", lines=16, max_lines=16, autoscroll=True, elem_id="train-log", scale=3)
        plot = gr.LinePlot(x="step", y="generator loss", title="generator loss", scale=2)
    inputs = [name, dataset, uploads, custom, g_file, d_file, *pre.inputs(), *ext.inputs(), *idx.inputs(),
              *trn.inputs()]
    counts = [len(pre.inputs()), len(ext.inputs()), len(idx.inputs()), len(trn.inputs())]
    forms = (pre, ext, idx, trn)

    def start(which: tuple[str, ...], title: str):
        def handler(*raw):
            steps = _train_steps(ctx, forms, counts, raw, which)
            try:
                job = ctx.jobs.submit("train", f"{title} {raw[0].strip()}", steps)
            except Exception as e:  # a run is already going
                raise gr.Error(str(e)) from None
            return f"started {job.status()}"
        return handler

    def stop():
        job = ctx.jobs.active("train")
        if job is None:
            return "nothing is running"
        ctx.jobs.stop(job.id)
        return f"stopped {job.status()}"

    for button, which, title in ((b_pre, ("preprocess",), "preprocess"), (b_ext, ("extract",), "extract"),
                                 (b_idx, ("index",), "create-index"), (b_train, ("train",), "train"),
                                 (b_all, ("preprocess", "extract", "index", "train"), "run all")):
        button.click(start(which, title), inputs=inputs, outputs=status, api_name=title.replace(" ", "_")
                     .replace("-", "_"))
    b_stop.click(stop, outputs=status, api_name="stop_training")
    b_tb.click(lambda model_name: _open_tensorboard(ctx, model_name), inputs=name, outputs=tb_link, api_name=False)
    refresh.click(lambda: (gr.Dropdown(choices=library.pretrains(models_root(), "G")),
                           gr.Dropdown(choices=library.pretrains(models_root(), "D"))), outputs=[g_file, d_file],
                  api_name=False)
    timer = gr.Timer(1.0)
    timer.tick(lambda: _train_view(ctx), outputs=[gr.Markdown(elem_id="train-job"), log, plot], api_name=False,
               show_progress="hidden")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------- Model tools
def tools_tab(ctx: UIContext) -> None:
    def run_tool(title: str, argv: list[str]) -> Job:
        return wait(ctx.jobs.submit("tool", title, [argv]))

    def result_text(job: Job) -> str:
        lines = [ln for ln in job.lines if not ln.startswith("$ ")]
        return "\n".join(lines[-60:])

    with gr.Tab("Model info"):
        m = gr.Dropdown(choices=ctx.models(), label="model", allow_custom_value=True)
        b = gr.Button("Show info")
        out = gr.Textbox(label="info", lines=14)
        b.click(lambda p: result_text(run_tool("model-info", argv_for("model-info", {"model": ctx.path(p, "model")})))
                if p else "choose a model", inputs=m, outputs=out, api_name="model_info")
    with gr.Tab("Voice blender"):
        with gr.Row():
            a = gr.Dropdown(choices=ctx.models(), label="model A", allow_custom_value=True)
            bm = gr.Dropdown(choices=ctx.models(), label="model B", allow_custom_value=True)
        ratio = control(MODEL_MERGE.get("ratio"), MODEL_MERGE.get("ratio").default_from(MODEL_MERGE.config))
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
        m3 = gr.Dropdown(choices=ctx.models(), label="model", allow_custom_value=True)
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
def _eval_argv(ctx: UIContext, out: Path, files, folder, ref, src, txt, p, use_asr, use_mos) -> list[str]:
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


def evaluate_tab(ctx: UIContext) -> None:
    with gr.Row():
        converted = gr.File(file_count="multiple", label="converted files")
        converted_dir = gr.Textbox(label="or a folder of converted files on the server")
    with gr.Row():
        refs = gr.Textbox(label="reference recordings (folder on the server)", info="the target speaker")
        sources = gr.Textbox(label="source recordings (folder, optional)", info="the unconverted inputs")
        text = gr.Textbox(label="transcripts (file or folder, optional)", info="enables CER")
    with gr.Row():
        pitch, asr, mos = (control(EVALUATE.get(d), EVALUATE.get(d).default_from(EVALUATE.config))
                           for d in ("pitch", "asr", "mos"))
    b = gr.Button("Evaluate", variant="primary")
    table = gr.Textbox(label="scores", lines=12)
    pictures = gr.Gallery(label="spectrogram / F0", columns=2)

    def run_eval(files, folder, ref, src, txt, p, use_asr, use_mos):
        out = ctx.new_dir("eval")
        argv = _eval_argv(ctx, out, files, folder, ref, src, txt, p, use_asr, use_mos)
        job = wait(ctx.jobs.submit("tool", "evaluate", [argv]))
        lines = [ln for ln in job.lines if not ln.startswith(("$ ", "INFO", "WARNING"))]
        return "\n".join(lines[-80:]), sorted(str(p) for p in out.rglob("*.png"))

    b.click(run_eval, inputs=[converted, converted_dir, refs, sources, text, pitch, asr, mos],
            outputs=[table, pictures], api_name="evaluate")


# ------------------------------------------------------------------------------------------------ Downloads
def downloads_tab(ctx: UIContext) -> None:
    from arvc.ui.downloads import downloads_tab as build

    build(ctx)


# ------------------------------------------------------------------------------------------------ Realtime
def realtime_tab(ctx: UIContext) -> None:
    from arvc.ui.realtime_tab import realtime_tab as build

    build(ctx)


# ----------------------------------------------------------------------------------------------------- app
def jobs_panel(ctx: UIContext) -> None:
    with gr.Accordion("Jobs", open=False):
        view = gr.Markdown(elem_id="jobs")
        with gr.Row():
            job_id = gr.Number(label="job id", precision=0)
            stop = gr.Button("Stop job", variant="stop")

        def listing():
            jobs = ctx.jobs.jobs()[-20:]
            return "\n".join(f"- {j.status()}" for j in reversed(jobs)) or "no jobs yet"

        def stop_job(i):
            ctx.scan_cancel.set()  # a server-folder scan in progress ends too
            if i is None:
                return listing()
            try:
                ctx.jobs.stop(int(i))
            except Exception as e:
                raise gr.Error(str(e)) from None
            return listing()

        stop.click(stop_job, inputs=job_id, outputs=view, api_name=False)
        gr.Timer(2.0).tick(listing, outputs=view, api_name=False, show_progress="hidden")


def build_app(ctx: UIContext) -> gr.Blocks:
    with gr.Blocks(title="arvc", delete_cache=(600, 3600)) as demo:  # uploads removed after an hour
        gr.Markdown(HEADER)
        jobs_panel(ctx)
        with gr.Tab("Convert", id="convert"):
            convert_tab(ctx)
        with gr.Tab("Realtime", id="realtime"):
            realtime_tab(ctx)
        with gr.Tab("Train", id="train"):
            train_tab(ctx)
        with gr.Tab("Downloads", id="downloads"):
            downloads_tab(ctx)
        with gr.Tab("Model tools", id="tools"):
            tools_tab(ctx)
        with gr.Tab("Evaluate", id="evaluate"):
            evaluate_tab(ctx)
    return demo
