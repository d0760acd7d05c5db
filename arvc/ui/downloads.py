"""Downloads tab: pretrains from the catalog and voice models from a URL, through ``arvc download`` (the
model-library commands) run as jobs; their log shows progress, checksum results and where files went."""

from __future__ import annotations

import gradio as gr

from arvc.ui.jobs import Job

SAMPLE_RATES = ("32000", "40000", "48000")


def catalog_ids(listing: str) -> list[str]:
    """Entry ids (first column) of ``arvc download pretrain --list``'s table, header excluded."""
    lines = [ln for ln in listing.splitlines() if ln.strip() and not ln.startswith(("$ ", "INFO", "WARNING"))]
    if not lines or not lines[0].split()[:1] == ["id"]:
        return []
    return [ln.split()[0] for ln in lines[1:]]


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
            vocoder = gr.Dropdown(choices=["all", "HiFi-GAN", "MRF HiFi-GAN", "RefineGAN"], value="all",
                                  label="vocoder", info="filters the catalog listing")
            name = gr.Dropdown(choices=[], label="pretrain", allow_custom_value=True, info="catalog id or name")
        with gr.Row():
            b_list = gr.Button("Show catalog")
            b_get = gr.Button("Download", variant="primary")
        listing = gr.Textbox(label="catalog", lines=10)
        log = gr.Textbox(label="download log", lines=10)

        def show(voc):
            job = ctx.jobs.submit("tool", "pretrain catalog", [["download", "pretrain", "--list"]])
            job.done.wait()
            text = "\n".join(ln for ln in job.lines if not ln.startswith("$ "))
            if voc != "all" and job.state == "done":
                rows = text.splitlines()
                text = "\n".join(rows[:1] + [r for r in rows[1:] if voc.lower() in r.lower()])
            return text, gr.Dropdown(choices=catalog_ids(text))

        def get_pretrain(n, sr):
            if not n:
                raise gr.Error("choose a pretrain (Show catalog lists them)")
            yield from _follow(ctx.jobs.submit("tool", f"download pretrain {n}",
                                               [["download", "pretrain", n, "--sample_rate", str(sr)]]))

        b_list.click(show, inputs=vocoder, outputs=[listing, name], api_name="pretrain_catalog")
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
            argv = ["download", "model", u.strip()] + (["--name", n.strip()] if n and n.strip() else []) + (
                ["--sha256", s.strip()] if s and s.strip() else [])
            yield from _follow(ctx.jobs.submit("tool", "download model", [argv]))

        b_model.click(get_model, inputs=[url, vname, sha], outputs=log2, api_name="download_model")
