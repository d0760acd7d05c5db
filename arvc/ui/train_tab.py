"""Train tab: name, dataset, sample rate, pretrain, epochs, batch size and one Train button (preprocess → extract
→ index → train as one job); the rest grouped in a closed "More settings" section. Progress (step n/N, speed,
ETA, the loss of every first step) comes from the job's events; a finished run ends in a card with its model."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import gradio as gr

from arvc.api.options import CREATE_INDEX, EXTRACT, PREPROCESS
from arvc.api.options_train import TRAIN
from arvc.errors import ArvcError
from arvc.library.available import FROM_SCRATCH, machine_defaults, pretrain_choices
from arvc.paths import datasets_root, models_root
from arvc.ui import library
from arvc.ui.controls import Controls, build_controls, control, page_words

TOP = ("epochs", "batch_size")
SKIP_TRAIN = ("sample_rate", "version", "pretrained_g", "pretrained_d", "pretrained", "from_scratch", *TOP)
TRAIN_GROUPS = (("Model and schedule", ("model", "schedule")), ("Losses", ("losses",)),
                ("Saving and logging", ("saving and logging",)), ("Hardware and precision", ("hardware and speed",)))
TABLES = (PREPROCESS, EXTRACT, CREATE_INDEX, TRAIN)


def _pretrain_labels(embedder: str) -> list[str]:
    return [c.label for c in pretrain_choices(embedder)]


def _pretrain(embedder: str, label: str, sample_rate: int):
    """The chosen pretrain, checked against the run's features and rate (gr.Error naming the fields)."""
    found = {c.label: c for c in pretrain_choices(embedder)}
    choice = found.get(label or FROM_SCRATCH)
    if choice is None:
        raise gr.Error(f"Pretrain “{label}” does not fit the embedder “{embedder}” (More settings → Features); "
                       f"choose one of: {', '.join(found)}")
    if not choice.from_scratch and choice.sample_rate != sample_rate:
        raise gr.Error(f"Pretrain “{label}” is for {choice.sample_rate} Hz: set Sample rate to {choice.sample_rate} "
                       f"or choose “{FROM_SCRATCH}”")
    return choice


def train_steps(ctx, forms: tuple, counts: list[int], raw: tuple, which: tuple[str, ...]) -> list[list[str]]:
    """The ``arvc`` command lines of the chosen stages, from the tab's raw control values."""
    pre, ext, idx, trn = forms
    model_name, data, files, sample_rate, pretrain, custom, g, d, *rest = raw
    model_name = ctx.name(model_name, "Name")
    a, b, c = counts[0], counts[0] + counts[1], counts[0] + counts[1] + counts[2]
    p_raw, e_raw, i_raw, t_raw = rest[:a], rest[a:b], rest[b:c], rest[c:]
    version = ext.values(e_raw).get("version")
    sample_rate = int(sample_rate)
    out = []
    if "preprocess" in which:
        data_path = ctx.path(data, "Dataset folder") if (data or "").strip() else None
        if files:
            target = datasets_root() / model_name
            target.mkdir(parents=True, exist_ok=True)
            for f in files:
                shutil.copy(ctx.path(f, "Recordings", uploads=True), target / Path(f).name)
            data_path = str(target.resolve())
        if not data_path:
            raise gr.Error("Dataset: upload recordings or give a folder on the server")
        out.append(ctx.argv(pre, p_raw, model_name=model_name, dataset_path=data_path, sample_rate=sample_rate))
    if "extract" in which:
        out.append(ctx.argv(ext, e_raw, model_name=model_name))
    if "index" in which:
        out.append(ctx.argv(idx, i_raw, model_name=model_name, version=version))
    if "train" in which:
        fixed = {"model_name": model_name, "sample_rate": sample_rate, "version": version}
        if custom:
            if not g or not d:
                raise gr.Error("Custom pretrain: choose both a G and a D file")
            fixed.update(pretrained_g=ctx.path(g, "pretrained G"), pretrained_d=ctx.path(d, "pretrained D"))
        else:
            choice = _pretrain(ext.values(e_raw).get("embedder_model") or "contentvec", pretrain, sample_rate)
            if choice.from_scratch:
                fixed["from_scratch"] = True
            else:
                fixed.update(pretrained_g=str(choice.g), pretrained_d=str(choice.d))
        out.append(ctx.argv(trn, t_raw, **fixed))
    return out


def _progress_html(job) -> str:
    p = job.progress()
    if p is None:
        return ""
    done, total = p.get("done") or 0, p.get("total")
    rate, eta = p.get("rate"), p.get("eta")
    words = [f"{p.get('stage')}: {p.get('unit', '')} {done}" + (f"/{total}" if total else "")]
    if rate:
        words.append(f"{rate:.2f} {p.get('unit', '')}/s" if rate >= 0.1 else f"{1 / rate:.1f} s/{p.get('unit', '')}")
    if eta is not None:
        words.append(f"ETA {int(eta) // 60}:{int(eta) % 60:02d}")
    bar = f"<progress max='{total}' value='{done}' style='width:100%'></progress>" if total else "<progress></progress>"
    return f"<div id='train-progress-text'>{html.escape(' · '.join(words))}</div>{bar}"


def train_view(ctx):
    """Status, progress, log, loss curve and the finished card of the newest training job."""
    job = ctx.jobs.latest("train")
    if job is None:
        return "no training job yet", "", "", None, "", gr.update(visible=False), None
    import pandas as pd

    losses = job.losses()
    frame = pd.DataFrame(losses, columns=["step", "generator loss"]) if losses else None
    status = f"**{html.escape(job.title)}**: {job.outcome}"
    if job.outcome == "failed" and job.errors():
        status += " — " + html.escape(page_words(job.errors()[-1], TABLES))
    models = [a["path"] for a in job.artifacts("model")] if job.outcome == "done" else []
    card, show = "", gr.update(visible=False)
    if models:
        name = Path(models[-1]).stem
        card = f"### Voice ready: {html.escape(name)}\n`{html.escape(models[-1])}`"
        show = gr.update(visible=True)
    return status, "" if job.settled else _progress_html(job), job.log(300), frame, card, show, \
        (models[-1] if models else None)


def _open_tensorboard(ctx, model_name: str) -> str:
    """Start (or find) the run's TensorBoard, served by this UI at ``/tensorboard/<run>/``: a link."""
    if not (model_name or "").strip():
        raise gr.Error("Name: give the name of the run to show")
    try:
        url = ctx.tensorboards.open(model_name)
    except ArvcError as e:
        raise gr.Error(str(e)) from None
    return f"TensorBoard for {html.escape(model_name.strip())}: [{url}]({url}) (opens in this page's server)"


def _more_settings(d) -> tuple:
    """The closed section: per-stage settings and buttons. Returns the four Controls, the custom-pretrain fields
    and the buttons."""
    with gr.Accordion("More settings", open=False):
        with gr.Accordion("Preprocess", open=False):
            pre = build_controls(PREPROCESS, skip=("dataset_path", "sample_rate"))
        with gr.Accordion("Features", open=False):
            ext = build_controls(EXTRACT, defaults={"f0_method": d.f0.value, "embedder_model": d.embedder.value})
        with gr.Accordion("Index", open=False):
            idx = build_controls(CREATE_INDEX)
        parts: dict = {}
        for title, groups in TRAIN_GROUPS:
            only = tuple(o.dest for o in TRAIN.options if o.group in groups and o.dest not in SKIP_TRAIN)
            with gr.Accordion(title, open=False):
                parts.update(build_controls(TRAIN, only=only, defaults={"model_size": d.pretrain.model_size},
                                            advanced=False).components)
        with gr.Accordion("Custom pretrain", open=False):
            with gr.Row():
                custom = gr.Checkbox(label="use these files", value=False, info="instead of the Pretrain above")
                g_file = gr.Dropdown(choices=library.pretrains(models_root(), "G"), label="pretrained G",
                                     allow_custom_value=True)
                d_file = gr.Dropdown(choices=library.pretrains(models_root(), "D"), label="pretrained D",
                                     allow_custom_value=True)
        with gr.Row():
            buttons = (gr.Button("Preprocess only"), gr.Button("Extract only"), gr.Button("Create index only"),
                       gr.Button("Train only", elem_id="train-only-button"), gr.Button("Open TensorBoard"))
        tb_link = gr.Markdown()
    return pre, ext, idx, parts, (custom, g_file, d_file), buttons, tb_link


def build(ctx, shell) -> None:
    d = machine_defaults()
    with gr.Row():
        name = gr.Textbox(label="Name", info="the new voice's name", elem_id="train-name", scale=2)
        rate = gr.Dropdown(choices=[32000, 40000, 48000], value=d.sample_rate, label="Sample rate",
                           elem_id="train-sample_rate", scale=1)
        pretrain = gr.Dropdown(choices=_pretrain_labels(d.embedder.value), value=d.pretrain.label,
                               label="Pretrain", elem_id="train-pretrain", scale=2)
        top = {dest: control(TRAIN.get(dest), TRAIN.get(dest).default_from(TRAIN.config), elem_id=f"train-{dest}",
                             table=TRAIN) for dest in TOP}
    with gr.Row(equal_height=True):
        uploads = gr.File(file_count="multiple", label="Recordings", file_types=["audio"], elem_id="train-upload",
                          height=120, scale=2)
        dataset = gr.Textbox(label="or a dataset folder on the server", info="one sub-folder per speaker for several",
                             elem_id="train-dataset", scale=1)
    with gr.Row():
        b_train = gr.Button("Train", variant="primary", elem_id="train-button", scale=2)
        b_stop = gr.Button("Stop", variant="stop", elem_id="stop-button", scale=1)
    why = gr.Markdown("Using " + "; ".join(d.lines()), elem_id="train-defaults")
    status = gr.Markdown(elem_id="train-status")
    progress = gr.HTML(elem_id="train-progress")
    with gr.Group(visible=False, elem_id="train-card") as card_box:
        card = gr.Markdown()
        use_voice = gr.Button("Convert with this voice", variant="primary", elem_id="use-voice")
    model_state = gr.State(None)
    with gr.Row():
        log = gr.Textbox(label="Log", lines=12, max_lines=12, autoscroll=True, elem_id="train-log", scale=3)
        plot = gr.LinePlot(x="step", y="generator loss", title="generator loss", scale=2, elem_id="train-plot")
    pre, ext, idx, parts, (custom, g_file, d_file), buttons, tb_link = _more_settings(d)
    trn = Controls(TRAIN, {**top, **parts})
    shell.lists.append((pretrain, lambda: _pretrain_labels(d.embedder.value)))
    inputs = [name, dataset, uploads, rate, pretrain, custom, g_file, d_file, *pre.inputs(), *ext.inputs(),
              *idx.inputs(), *trn.inputs()]
    counts = [len(pre.inputs()), len(ext.inputs()), len(idx.inputs()), len(trn.inputs())]
    forms = (pre, ext, idx, trn)

    def start(which: tuple[str, ...], title: str):
        def handler(*raw):
            steps = train_steps(ctx, forms, counts, raw, which)
            try:
                job = ctx.jobs.submit("train", f"{title} {raw[0].strip()}", steps)
            except Exception as e:  # a run is already going
                raise gr.Error(str(e)) from None
            return f"started: {job.title}"
        return handler

    def stop():
        job = ctx.jobs.active("train")
        if job is None:
            return "nothing is running"
        ctx.jobs.stop(job.id)
        return f"**{job.title}**: {job.state}"

    def on_pretrain(label, sr, emb):
        found = {c.label: c for c in pretrain_choices(emb or d.embedder.value)}
        c = found.get(label)
        if c is None:
            return gr.update(), gr.update(), ""
        size = parts.get("model_size")
        return (gr.update(value=c.sample_rate or sr), gr.update(value=c.model_size) if size else gr.update(),
                f"Pretrain: {c.label} — {c.why}")

    b_train.click(start(("preprocess", "extract", "index", "train"), "train"), inputs=inputs, outputs=status,
                  api_name="train")
    for button, which in zip(buttons[:4], (("preprocess",), ("extract",), ("index",), ("train",))):
        button.click(start(which, which[0]), inputs=inputs, outputs=status, api_name=f"{which[0]}_only")
    b_stop.click(stop, outputs=status, api_name="stop_training")
    buttons[4].click(lambda n: _open_tensorboard(ctx, n), inputs=name, outputs=tb_link, api_name="tensorboard")
    size_out = parts.get("model_size", gr.State())
    pretrain.change(on_pretrain, inputs=[pretrain, rate, ext.components["embedder_model"]],
                    outputs=[rate, size_out, why], api_name=False)
    use_voice.click(lambda m: (gr.Tabs(selected="convert"), gr.update(choices=ctx.voices(), value=m)),
                    inputs=model_state, outputs=[shell.tabs, shell.convert_voice], api_name=False)
    timer = gr.Timer(1.0)
    timer.tick(lambda: train_view(ctx), outputs=[status, progress, log, plot, card, card_box, model_state],
               api_name=False, show_progress="hidden").then(
        None, js="() => { const t = document.querySelector('#train-log textarea'); "
                 "if (t) t.scrollTop = t.scrollHeight; }")
