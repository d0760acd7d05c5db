"""Downloads tab: pretrains from the catalog, voice models from a URL and pitch-network weights, through
``arvc download`` (the model-library commands) run as jobs; their log shows progress, checksum results and where
files went."""

from __future__ import annotations

import gradio as gr

from arvc.api.tables import argv_for, table
from arvc.constants import VOCODER_NAMES
from arvc.ui.jobs import Job

SAMPLE_RATES = tuple(map(str, table("download pretrain").get("sample_rate").choices))


def _entries(sample_rate: int, vocoder: str):
    from arvc.library.catalog import load_catalog

    return [e for e in load_catalog(refresh=False) if sample_rate in e.sample_rates and e.vocoder == vocoder]


def catalog_choices(sample_rate: int, vocoder: str) -> list[tuple[str, str]]:
    """``(label, id)`` of the catalog's pretrains for this rate and vocoder."""
    return [(f"{e.name} ({e.version}{'' if e.f0 else ', no F0'})", e.id) for e in _entries(sample_rate, vocoder)]


def catalog_table(sample_rate: int, vocoder: str) -> str:
    rows = ["| id | name | version | F0 | author | downloaded |", "|---|---|---|---|---|---|"]
    for e in _entries(sample_rate, vocoder):
        rows.append(f"| {e.id} | {e.name} | {e.version} | {'yes' if e.f0 else 'no'} | {e.author} | "
                    f"{'yes' if e.is_local(sample_rate) else 'no'} |")
    return "\n".join(rows) if len(rows) > 2 else f"no catalog pretrain for {sample_rate} Hz {vocoder}"


def _follow(job: Job):
    """Yield the job's log while it runs, then once more when it ends."""
    while not job.done.wait(0.5):
        yield job.status() + "\n" + job.log(40)
    yield job.status() + "\n" + job.log(80)


def downloads_tab(ctx) -> None:
    gr.Markdown("Pretrained G/D files and voice models are downloaded into the models folder with `arvc download` "
                "(resumable, size-limited, checksummed); the log below says where each file went.")
    with gr.Tab("Download Pretrained Models"):
        with gr.Row():
            rate = gr.Dropdown(choices=list(SAMPLE_RATES), value="40000", label="sample rate")
            vocoder = gr.Dropdown(choices=list(VOCODER_NAMES), value="HiFi-GAN", label="vocoder")
            name = gr.Dropdown(choices=catalog_choices(40000, "HiFi-GAN"), label="pretrain", allow_custom_value=True,
                               info="catalog entries for this rate and vocoder", elem_id="download-pretrain")
        b_get = gr.Button("Download", variant="primary")
        listing = gr.Markdown(catalog_table(40000, "HiFi-GAN"))
        log = gr.Textbox(label="download log", lines=10)

        def filter_catalog(sr, voc):
            return gr.Dropdown(choices=catalog_choices(int(sr), voc), value=None), catalog_table(int(sr), voc)

        def get_pretrain(n, sr):
            if not n:
                raise gr.Error("choose a pretrain")
            n = ctx.name(n, "pretrain")
            yield from _follow(ctx.jobs.submit("tool", f"download pretrain {n}",
                                               [argv_for("download pretrain", {"name": n, "sample_rate": [sr]})]))

        for control in (rate, vocoder):
            control.change(filter_catalog, inputs=[rate, vocoder], outputs=[name, listing], api_name=False)
        b_get.click(get_pretrain, inputs=[name, rate], outputs=log, api_name="download_pretrain")
    with gr.Tab("Download Model"):
        url = gr.Textbox(label="URL", info="Hugging Face link or https:// link to a .pth, .index or .zip")
        with gr.Row():
            vname = gr.Textbox(label="voice name (optional)")
            sha = gr.Textbox(label="sha256 (optional)", info="the download is refused when it differs")
        b_model = gr.Button("Download", variant="primary")
        log2 = gr.Textbox(label="download log", lines=10)

        def get_model(u, n, s):
            if not u or not u.strip():
                raise gr.Error("give a URL")
            u = u.strip()
            if not u.lower().startswith(("http://", "https://")):
                raise gr.Error("give an http:// or https:// link")
            argv = argv_for("download model", {"url": u, "name": ctx.name(n, "voice name") if (n or "").strip() else None,
                                               "sha256": (s or "").strip() or None})
            yield from _follow(ctx.jobs.submit("tool", "download model", [argv]))

        b_model.click(get_model, inputs=[url, vname, sha], outputs=log2, api_name="download_model")
    with gr.Tab("Download Pitch Weights"):
        f0_names = table("download f0").get("names").choices
        which = gr.CheckboxGroup(choices=list(f0_names), label="pitch methods",
                                 info="weights of these F0 methods (others ship with their packages or come with "
                                      "the prerequisites)", elem_id="download-f0")
        b_f0 = gr.Button("Download", variant="primary")
        log3 = gr.Textbox(label="download log", lines=6)

        def get_f0(names):
            if not names:
                raise gr.Error("choose at least one pitch method")
            yield from _follow(ctx.jobs.submit("tool", "download f0", [argv_for("download f0", {"names": list(names)})]))

        b_f0.click(get_f0, inputs=which, outputs=log3, api_name="download_f0")
