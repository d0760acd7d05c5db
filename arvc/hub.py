"""Downloads from the Hugging Face hub (embedders, RMVPE, pretrains) through one function.

``huggingface_hub`` retries a failed connection five times with back-off (about 25 s per file) and logs
every retry. arvc first checks once per process whether the hub answers at all (a 3 s TCP connect to the
endpoint); when it does not, a download fails at once with :class:`HubUnavailable`, and the caller's
error message says what to fetch by hand. ``HF_HUB_OFFLINE=1`` skips the network entirely.
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

CONNECT_TIMEOUT_S = 3.0


class HubUnavailable(OSError):
    """The hub cannot be reached (offline mode, no network, DNS failure)."""


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


@functools.lru_cache(maxsize=None)
def _reachable(url: str) -> str | None:
    """None when a TCP connection to ``url``'s host opens, else the reason it did not."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "", parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return None
    except OSError as e:
        return f"{host} unreachable: {e.strerror or e}"


def offline_reason() -> str | None:
    """Why the hub cannot be used right now, or None when it can."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    return _reachable(endpoint())


def hub_download(repo_id: str, filename: str, *, subfolder: str | None = None,
                 local_dir: str | os.PathLike | None = None, cache_only: bool = False) -> Path:
    """``huggingface_hub.hf_hub_download`` that fails fast when the hub is unreachable.

    ``cache_only`` looks in the local hub cache only (never the network).
    """
    from huggingface_hub import hf_hub_download

    if not cache_only:
        reason = offline_reason()
        if reason:
            raise HubUnavailable(reason)
    return Path(hf_hub_download(repo_id, filename, subfolder=subfolder,
                                local_dir=str(local_dir) if local_dir else None, local_files_only=cache_only))
