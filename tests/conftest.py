"""Shared test fixtures: paths to ../shared (specs, fixtures, voices) and the bundled demo data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# huggingface_hub reads these once at import time: set them before anything imports it.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ARVC_SHARED_DIR", ROOT.parent / "shared"))
ASSETS = ROOT / "assets"


def _require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the tests need ../shared beside the project root")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _require(SHARED)


@pytest.fixture(scope="session")
def specs_dir() -> Path:
    return _require(SHARED / "specs")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return _require(SHARED / "fixtures")


@pytest.fixture(scope="session")
def voices_dir() -> Path:
    """The bundled demo voices (copied from ../shared/data/voices)."""
    return _require(ASSETS / "voices")


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op torch thread (the CPU is shared; avoids OpenMP oversubscription; test speed only)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """Keep every test's logs/models/datasets under its own tmp folder."""
    monkeypatch.setenv("ARVC_LOGS_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("ARVC_DATASETS_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("ARVC_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("ARVC_DEVICE", raising=False)


SLOW_LIST = Path(__file__).with_name("slow_tests.txt")


def pytest_collection_modifyitems(config, items):
    """Mark as ``slow`` the tests listed in ``slow_tests.txt`` (measured; see its header), besides those that carry
    the marker themselves: ``bash scripts/test.sh --quick`` leaves both out."""
    listed = {line.strip() for line in SLOW_LIST.read_text().splitlines()
              if line.strip() and not line.startswith("#")} if SLOW_LIST.exists() else set()
    for item in items:
        if item.nodeid in listed or item.nodeid.split("[")[0] in listed:
            item.add_marker(pytest.mark.slow)
