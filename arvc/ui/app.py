"""The arvc web UI (Gradio): the page, its shared state and the jobs panel; one module per tab
(:mod:`convert_tab`, :mod:`train_tab`, :mod:`tts_tab`, :mod:`cover_tab`, :mod:`realtime_tab`, :mod:`downloads`,
:mod:`tools_tab`, :mod:`settings_tab`).

Every action runs an ``arvc`` command (the same stage functions the CLI calls) as a background job of
:class:`~arvc.ui.jobs.JobManager`; the tabs only build argv's and show files, events and tables. The Realtime
tab runs its stage in a thread of the server instead, for its live statistics.

Lists of voices and pretrains are filled when the page loads, when a tab is opened and when a job ends (pushed
by the server, no timer re-renders them).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from arvc.api.tables import argv_for
from arvc.errors import ArvcError
from arvc.paths import DATASETS_ENV, LOGS_ENV, MODELS_ENV, datasets_root, logs_root, models_root
from arvc.safe_paths import plain_name, under_roots
from arvc.ui import library
from arvc.ui.controls import Controls
from arvc.ui.guard import PATH_OPTIONS, default_roots, upload_root
from arvc.ui.jobs import JobManager
from arvc.ui.realtime_session import RealtimeSession
from arvc.ui.tensorboard import TensorBoards

ASSETS = Path(__file__).parent / "assets"
HEADER = "## arvc — voice conversion"
SETTINGS_DEFAULTS = {"device": "auto", "precision": "auto", "theme": "light"}


def job_env() -> dict[str, str]:
    """The environment of the UI's jobs: the logs, datasets and models folders as absolute paths (jobs run in
    their own working folder), no Gradio telemetry."""
    return {LOGS_ENV: str(logs_root().resolve()), DATASETS_ENV: str(datasets_root().resolve()),
            MODELS_ENV: str(models_root().resolve()), "GRADIO_ANALYTICS_ENABLED": "False"}


@dataclass
class UIContext:
    """Where the UI keeps uploads and outputs, the jobs it runs, its realtime session and its settings."""

    output_dir: Path
    jobs: JobManager
    realtime: RealtimeSession = field(default_factory=RealtimeSession)
    roots: tuple[Path, ...] = field(default_factory=lambda: tuple(default_roots()))
    scan_cancel: threading.Event = field(default_factory=threading.Event)
    tensorboards: TensorBoards | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    settings: dict[str, str] = field(default_factory=lambda: dict(SETTINGS_DEFAULTS))

    def __post_init__(self):
        if self.tensorboards is None:
            self.tensorboards = TensorBoards(self.jobs)

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
        option typed into the page checked by :meth:`path` and the Settings tab's precision as the default."""
        values = {**controls.values(raw), **fixed}
        for dest in PATH_OPTIONS:
            if dest in controls.components and isinstance(values.get(dest), str) and values[dest].strip():
                values[dest] = self.path(values[dest], controls.options.get(dest).title)
        if "precision" in values and values["precision"] in (None, "", "auto"):
            values["precision"] = self.settings.get("precision", "auto")
        return argv_for(controls.options.command, values)

    def new_dir(self, kind: str) -> Path:
        d = self.output_dir / kind / (time.strftime("%Y%m%d-%H%M%S-") + f"{time.time_ns() % 1_000_000:06d}")
        d.mkdir(parents=True, exist_ok=True)
        return d

    def models(self) -> list[str]:
        return library.voice_models(models_root(), logs_root(), extra=(self.output_dir / "models",))

    def voices(self) -> list[tuple[str, str]]:
        """``(name, path)`` of every voice (models folder, ``logs/``, the UI's own outputs)."""
        return library.voice_choices(models_root(), logs_root(), extra=(self.output_dir / "models",))


@dataclass
class Shell:
    """What tabs share: the tab strip, the Convert tab's voice list, and every list to refresh."""

    tabs: Any = None
    convert_voice: Any = None
    lists: list[tuple[Any, Callable[[], list]]] = field(default_factory=list)

    def voice_list(self, ctx: UIContext, component):
        self.lists.append((component, ctx.voices))
        return component

    def voice_dropdown(self, ctx: UIContext, label: str = "Voice", preselect: bool = False, **kw):
        """A voice picker kept current with the library (``preselect``: the first voice chosen)."""
        voices = ctx.voices()
        value = library.first_voice(voices) if preselect else None
        return self.voice_list(ctx, gr.Dropdown(choices=voices, value=value, label=label, allow_custom_value=True,
                                                **kw))


def refreshed(shell: Shell, current: list) -> list:
    """A fresh choices update per list of ``shell``: its current value kept while it still exists (or names a
    file typed in by hand), else the first finished voice (never a training run's intermediate weights)."""
    out = []
    for (_, choices), value in zip(shell.lists, current):
        items = choices()
        values = [c[1] if isinstance(c, tuple) else c for c in items]
        keep = value in values or (isinstance(value, str) and value.endswith(".pth") and Path(value).is_file())
        out.append(gr.update(choices=items, value=value if keep else library.first_voice(items)))
    return out


def jobs_listing(ctx: UIContext) -> str:
    """The jobs panel's text: running jobs, then the newest finished ones (8 lines at most)."""
    jobs = ctx.jobs.jobs()
    active = [j for j in jobs if not j.settled]
    shown = active + [j for j in reversed(jobs) if j.settled][:max(0, 8 - len(active))]
    text = "\n".join(f"- {j.status()}" for j in shown) or "no jobs yet"
    more = len(jobs) - len(shown)
    return text + (f"\n\n({more} older jobs not shown)" if more > 0 else "")


def _running_choices(ctx: UIContext):
    return gr.update(choices=[(j.title, j.id) for j in ctx.jobs.jobs() if not j.finished])


def jobs_panel(ctx: UIContext) -> tuple[Any, Any]:
    """The Jobs accordion (its list, Stop, Stop all); returns the list's text and the running-job picker."""
    with gr.Accordion("Jobs", open=False):
        view = gr.Markdown(elem_id="jobs")
        with gr.Row():
            running = gr.Dropdown(label="running job", choices=[], scale=3, elem_id="jobs-running")
            stop = gr.Button("Stop job", variant="stop", scale=1)
            stop_all = gr.Button("Stop all", variant="stop", scale=1, elem_id="stop-all")

        def stop_job(i):
            ctx.scan_cancel.set()  # a server-folder scan in progress ends too
            if i is not None:
                try:
                    threading.Thread(target=ctx.jobs.stop, args=(int(i),), daemon=True).start()
                except ArvcError as e:
                    raise gr.Error(str(e)) from None
            return jobs_listing(ctx), _running_choices(ctx)

        def stop_everything():
            ctx.scan_cancel.set()
            for job in ctx.jobs.jobs():
                if not job.finished:
                    threading.Thread(target=ctx.jobs.stop, args=(job.id,), daemon=True).start()
            return jobs_listing(ctx), _running_choices(ctx)

        stop.click(stop_job, inputs=running, outputs=[view, running], api_name=False)
        stop_all.click(stop_everything, outputs=[view, running], api_name="stop_all")
    return view, running


JOBS_POLL = 0.5  # seconds between two looks (in the server) at the jobs' states
PROGRESS_EVERY = 2.0  # seconds between two updates of the jobs' text while one runs


def _watch_jobs(ctx: UIContext, shell: Shell, demo, view, running) -> None:
    """Refresh every list when the page loads, when a tab is opened and when a job ends: one follower per page
    (an async generator, alive while the page is open) watches the jobs in the server and sends an update only
    when something changed; the lists are re-read then (with their current values), never on a timer."""
    components = [c for c, _ in shell.lists]
    ended = gr.State(0)

    def lists(*current):
        return refreshed(shell, list(current))

    async def follow():
        shown, last = None, 0.0
        while True:
            jobs = ctx.jobs.jobs()
            now = tuple((j.id, j.outcome, j.finished) for j in jobs)
            busy = any(not j.settled for j in jobs)
            if now != shown:
                yield sum(j.settled for j in jobs), jobs_listing(ctx), _running_choices(ctx)
                shown, last = now, time.monotonic()
            elif busy and time.monotonic() - last >= PROGRESS_EVERY:  # progress of the running job (text only)
                yield gr.skip(), jobs_listing(ctx), gr.skip()
                last = time.monotonic()
            await asyncio.sleep(JOBS_POLL)

    demo.load(lists, inputs=components, outputs=components, api_name=False, show_progress="hidden")
    demo.load(follow, outputs=[ended, view, running], api_name=False, show_progress="hidden",
              concurrency_limit=None)
    ended.change(lists, inputs=components, outputs=components, api_name=False, show_progress="hidden")
    shell.tabs.select(lists, inputs=components, outputs=components, api_name=False, show_progress="hidden")


CSS = """
.arvc-files tr.failed td { color: #c62828; }
.arvc-files tr.failed progress { accent-color: #c62828; }
#train-card { border: 2px solid #2e7d32; border-radius: 8px; padding: 8px 12px; }
"""


def build_app(ctx: UIContext) -> gr.Blocks:
    from arvc.ui import convert_tab, cover_tab, downloads, realtime_tab, settings_tab, tools_tab, train_tab, tts_tab

    shell = Shell()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    with gr.Blocks(title="arvc", delete_cache=(600, 3600), analytics_enabled=False) as demo:
        gr.Markdown(HEADER)
        with gr.Tabs(elem_id="tabs") as shell.tabs:
            with gr.Tab("Convert", id="convert"):
                convert_tab.build(ctx, shell)
            with gr.Tab("Train", id="train"):
                train_tab.build(ctx, shell)
            with gr.Tab("TTS", id="tts"):
                tts_tab.build(ctx, shell)
            with gr.Tab("Cover", id="cover"):
                cover_tab.build(ctx, shell)
            with gr.Tab("Realtime", id="realtime"):
                rt = realtime_tab.realtime_tab(ctx)
                shell.lists.append((rt.model, ctx.models))
            with gr.Tab("Downloads", id="downloads"):
                downloads.downloads_tab(ctx)
            with gr.Tab("Model tools", id="tools"):
                tools_tab.build(ctx, shell)
            with gr.Tab("Evaluate", id="evaluate"):
                tools_tab.evaluate(ctx)
            with gr.Tab("Settings", id="settings"):
                theme = settings_tab.build(ctx, shell)
        view, running = jobs_panel(ctx)
        _watch_jobs(ctx, shell, demo, view, running)
        demo.load(None, inputs=theme, js=settings_tab.THEME_JS)
    return demo
