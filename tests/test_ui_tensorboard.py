"""TensorBoard served through the UI's own server at /tensorboard/<run>/ (a reverse-proxy route): behind the
same login as the page, one process per run, the run's name checked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _ui_server import ui_server

gr = pytest.importorskip("gradio")
httpx = pytest.importorskip("httpx")
pytest.importorskip("tensorboard")


def _run_logs(name: str) -> Path:
    from torch.utils.tensorboard import SummaryWriter

    eval_dir = Path(os.environ["ARVC_LOGS_DIR"]) / name / "eval"
    writer = SummaryWriter(str(eval_dir))
    for step in range(3):
        writer.add_scalar("loss/g/total", 10.0 - step, step)
    writer.close()
    return eval_dir


def test_tensorboard_through_the_ui_needs_the_login(tmp_path):
    from gradio_client import Client

    _run_logs("voice")
    logins = tmp_path / "logins.txt"
    logins.write_text("ann:s3cret\n")
    with ui_server(tmp_path, "--auth_file", str(logins)) as (url, _):
        client = Client(url, auth=("ann", "s3cret"), verbose=False)
        links = {client.predict("voice", api_name="/tensorboard") for _ in range(3)}
        assert len(links) == 1 and "/tensorboard/voice/" in links.pop()
        with pytest.raises(Exception, match="not a plain folder name"):
            client.predict("../x", api_name="/tensorboard")

        anonymous = httpx.get(url + "tensorboard/voice/", timeout=30)
        assert anonymous.status_code == 401 and "TensorBoard" not in anonymous.text
        with httpx.Client(base_url=url, timeout=90) as browser:
            assert browser.post("login", data={"username": "ann", "password": "s3cret"}).status_code == 200
            page = browser.get("tensorboard/voice/")
            assert page.status_code == 200 and "<title>TensorBoard</title>" in page.text, page.text[:300]
            tags = browser.get("tensorboard/voice/data/plugin/scalars/tags").json()
            assert "loss/g/total" in next(iter(tags.values())), tags
            assert browser.get("tensorboard/other/").status_code == 404  # a run not opened here
        processes = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _is_tensorboard_of(p, tmp_path)]
        assert len(processes) == 1, processes  # three clicks, one TensorBoard


def _is_tensorboard_of(proc: Path, tmp_path: Path) -> bool:
    try:
        argv = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"tensorboard" in argv and any(str(tmp_path).encode() in a for a in argv)
