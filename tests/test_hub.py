"""Hub downloads fail fast (no retry loop) when the hub cannot be reached."""

from __future__ import annotations

import socket

import pytest

from arvc import hub


def test_unreachable_hub_fails_without_calling_huggingface_hub(monkeypatch):
    import huggingface_hub

    called = []
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **k: called.append(a) or "/cached/file.bin")
    monkeypatch.setattr(hub, "offline_reason", lambda: "example.invalid unreachable")
    with pytest.raises(hub.HubUnavailable, match="unreachable"):
        hub.hub_download("someone/repo", "file.bin")
    assert called == []
    hub.hub_download("someone/repo", "file.bin", cache_only=True)  # the cache lookup never needs the network
    assert len(called) == 1


def test_offline_env_and_closed_port(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "HF_HUB_OFFLINE" in hub.offline_reason()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    assert "127.0.0.1 unreachable" in hub.offline_reason()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        assert hub._reachable(f"http://127.0.0.1:{server.getsockname()[1]}") is None
