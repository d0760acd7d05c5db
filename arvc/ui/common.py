"""Small helpers the tabs share: waiting for a job, server-folder scans, per-file result tables, job summaries."""

from __future__ import annotations

import html
from pathlib import Path

import gradio as gr

from arvc.errors import ArvcError
from arvc.ui.guard import scan_audio
from arvc.ui.jobs import Job

AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".mp4", ".aac", ".wma", ".aiff", ".aif", ".webm",
                  ".ac3", ".alac"}


def wait(job: Job, poll: float = 0.25) -> Job:
    while not job.done.wait(poll):
        pass
    return job


def audio_files(ctx, folder: str) -> list[Path]:
    """The audio files below a server folder in the allowed roots (bounded, cancellable scan)."""
    root = Path(ctx.path(folder, "folder on the server"))
    if not root.is_dir():
        raise gr.Error(f"{folder}: not a folder on the server")
    ctx.scan_cancel.clear()
    try:
        return scan_audio(root, AUDIO_SUFFIXES, ctx.scan_cancel)
    except ArvcError as e:
        raise gr.Error(str(e)) from None


def file_rows(rows: list[tuple[str, str, str]]) -> str:
    """An HTML table with a progress bar per file: ``(name, state, message)``; failed rows are red."""
    out = ["<table class='arvc-files'><tr><th>file</th><th>progress</th><th>result</th></tr>"]
    bars = {"queued": "<progress max='1' value='0'></progress>", "running": "<progress></progress>",
            "done": "<progress max='1' value='1'></progress>", "failed": "<progress max='1' value='0'></progress>"}
    for name, state, msg in rows:
        style = " class='failed' style='color:#c62828'" if state == "failed" else ""
        out.append(f"<tr{style}><td>{html.escape(name)}</td><td>{bars.get(state, bars['queued'])} {state}</td>"
                   f"<td>{html.escape(msg)}</td></tr>")
    return "\n".join(out) + "</table>"


def batch_state(job: Job, done: int, failed: int) -> str:
    """A batch job's state in words: ``done``, ``done with 1 failure``, ``failed``, ``stopped``, ``running``
    (settled as soon as the command has reported its end, not when its process has exited)."""
    state = job.outcome
    if not job.settled:
        return state
    if state == "stopped":
        return "stopped"
    if failed and done:
        return f"done with {failed} failure{'s' if failed > 1 else ''}"
    return "failed" if failed or state == "failed" else "done"
