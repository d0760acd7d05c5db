"""Streamed, resumable, verified downloads.

A file is written to ``<dest>.part``; after a dropped connection the next attempt (or the next run) asks for the
rest with an HTTP ``Range`` header. When the transfer is complete its sha256 is checked (when known) and the file is
renamed into place; a mismatch deletes it and the error names both hashes. Timeouts and a bounded number of retries
end in one :class:`~arvc.errors.ArvcError` line naming the URL. Proxies come from the usual ``*_proxy`` variables.

Hugging Face ``resolve``/``blob`` links go through ``huggingface_hub`` (which honours ``HF_ENDPOINT``, ``HF_TOKEN``
and resumes ``.incomplete`` files itself); the sha256 check and the rename into place are the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import shutil
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlparse

from arvc.errors import ArvcError

CHUNK = 1 << 16
TIMEOUT_S = 30.0
RETRIES = 3
DEADLINE_S = 6 * 3600.0  # a whole download (all attempts) ends after this, whatever the server does
MIN_RATE = 1024  # bytes/s: a transfer slower than this over RATE_WINDOW_S is dropped (then retried/resumed)
RATE_WINDOW_S = 60.0
HF_HOSTS = ("huggingface.co", "hf.co")
_HF_PATH = re.compile(r"^/(?:(?P<kind>datasets|spaces)/)?(?P<repo>[^/]+/[^/]+)/(?:resolve|blob|raw)/(?P<rev>[^/]+)/(?P<file>.+)$")


@dataclass(frozen=True)
class Progress:
    """One progress report: ``done`` of ``total`` bytes (``total`` None when the server does not say)."""

    url: str
    done: int
    total: int | None
    bytes_per_s: float


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class HubFile:
    """A file on the Hugging Face hub named by a ``resolve``/``blob`` link."""

    repo_id: str
    revision: str
    filename: str
    repo_type: str | None = None


def parse_hub_url(url: str) -> HubFile | None:
    """``https://huggingface.co/<owner>/<repo>/resolve|blob/<rev>/<path>`` -> HubFile; None for other links."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or (parsed.hostname or "").lower() not in HF_HOSTS:
        return None
    m = _HF_PATH.match(unquote(parsed.path))
    if not m:
        return None
    kind = {"datasets": "dataset", "spaces": "space"}.get(m["kind"] or "")
    return HubFile(m["repo"], m["rev"], m["file"], kind)


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


class _Reporter:
    """Feeds bytes to the terminal bar and the callback; the bar shows bytes, speed and ETA."""

    def __init__(self, url: str, label: str, callback: ProgressCallback | None, show_bar: bool):
        from arvc.progress import progress_bar

        self.url, self.callback = url, callback
        self.bar = progress_bar(desc=label, unit="B", unit_scale=True, unit_divisor=1024, disable=not show_bar)
        self.done, self.total, self.t0, self.start_done, self.last = 0, None, time.monotonic(), 0, 0.0

    def begin(self, done: int, total: int | None) -> None:
        self.done, self.start_done, self.total, self.t0 = done, done, total, time.monotonic()
        self.bar.reset(total=total)
        self.bar.update(done)
        self._emit(force=True)

    def add(self, n: int) -> None:
        self.done += n
        self.bar.update(n)
        self._emit()

    def _emit(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.callback is None or (not force and now - self.last < 0.1 and self.done != self.total):
            return
        self.last = now
        speed = (self.done - self.start_done) / max(now - self.t0, 1e-6)
        self.callback(Progress(self.url, self.done, self.total, speed))

    def close(self) -> None:
        self._emit(force=True)
        self.bar.close()


def _reason(e: BaseException) -> str:
    if isinstance(e, TooSlow):
        return str(e)
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        r = e.reason
        return getattr(r, "strerror", None) or str(r)
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timed out"
    return getattr(e, "strerror", None) or str(e) or type(e).__name__


def _total_from(resp, offset: int) -> int | None:
    rng = resp.headers.get("Content-Range")
    if rng and "/" in rng and not rng.endswith("/*"):
        return int(rng.rsplit("/", 1)[1])
    length = resp.headers.get("Content-Length")
    return offset + int(length) if length is not None else None


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to another http(s) URL (urllib alone would follow ``ftp://``)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urlparse(newurl).scheme.lower() not in ("http", "https"):
            raise ArvcError(f"{req.full_url}: refused a redirect to {newurl[:200]} (only http:// and https://)")
        return super().redirect_request(req, fp, code, msg, headers, encoded_url(newurl))


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


def encoded_url(url: str) -> str:
    """``url`` with non-ASCII characters of its path and query percent-encoded (what a browser sends)."""
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.netloc.encode("idna").decode("ascii") if not parts.netloc.isascii() else parts.netloc
    return urlunsplit((parts.scheme, host, quote(parts.path, safe="/%:@!$&'()*+,;=~"),
                       quote(parts.query, safe="=&%:@!$'()*+,;/?~"), parts.fragment))


class TooSlow(OSError):
    """A transfer below the minimum rate (retried and resumed like a dropped connection)."""


class _Pace:
    """Ends a transfer that passes the overall ``deadline`` (monotonic time) or that moves fewer than
    ``min_rate`` bytes/s over any ``window`` seconds (a server trickling a byte every few seconds)."""

    def __init__(self, url: str, deadline: float, min_rate: float, window: float):
        self.url, self.deadline, self.min_rate, self.window = url, deadline, min_rate, window
        self.mark, self.mark_bytes, self.bytes = time.monotonic(), 0, 0

    def add(self, n: int) -> None:
        now = time.monotonic()
        self.bytes += n
        if now > self.deadline:
            raise ArvcError(f"{self.url}: the download did not finish within its deadline")
        if now - self.mark >= self.window:
            rate = (self.bytes - self.mark_bytes) / (now - self.mark)
            if rate < self.min_rate:
                raise TooSlow(f"slower than {self.min_rate:.0f} bytes/s for {self.window:.0f} s")
            self.mark, self.mark_bytes = now, self.bytes


def _attempt(url: str, part: Path, rep: _Reporter, timeout: float, max_bytes: int | None,
             pace: _Pace | None = None) -> None:
    """One request, appending to ``part`` from its current size; raises on any network failure."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "arvc"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    req = urllib.request.Request(encoded_url(url), headers=headers)
    if pace is not None:
        timeout = max(0.1, min(timeout, pace.deadline - time.monotonic()))
    try:
        resp = _OPENER.open(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:  # the .part is already whole (or longer than the file): start over
            part.unlink()
        raise
    with resp:
        if offset and resp.status != 206:  # the server ignored Range: start from the beginning
            offset = 0
        total = _total_from(resp, offset)
        if max_bytes is not None and total is not None and total > max_bytes:
            raise ArvcError(f"{url}: {total} bytes is more than the limit of {max_bytes}")
        rep.begin(offset, total)
        with open(part, "r+b" if offset else "wb") as f:
            f.seek(offset)
            f.truncate()
            while True:
                block = resp.read1(CHUNK)  # what has arrived: a trickling server cannot stall the pace check
                if not block:
                    break
                f.write(block)
                rep.add(len(block))
                if pace is not None:
                    pace.add(len(block))
                if max_bytes is not None and rep.done > max_bytes:
                    raise ArvcError(f"{url}: more than the limit of {max_bytes} bytes")
        if total is not None and rep.done < total:
            raise ConnectionError(f"connection closed after {rep.done} of {total} bytes")


def _finish(tmp: Path, dest: Path, url: str, sha256: str | None) -> Path:
    if sha256:
        got = sha256_of(tmp)
        if got.lower() != sha256.lower():
            tmp.unlink(missing_ok=True)
            raise ArvcError(f"{url}: sha256 mismatch (expected {sha256.lower()}, got {got}); the file was deleted")
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, dest)
    return dest


def download_http(url: str, dest: str | os.PathLike, *, sha256: str | None = None,
                  progress: ProgressCallback | None = None, show_bar: bool = True, timeout: float = TIMEOUT_S,
                  retries: int = RETRIES, max_bytes: int | None = None, deadline_s: float = DEADLINE_S,
                  min_rate: float = MIN_RATE, rate_window_s: float = RATE_WINDOW_S) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part`` with Range resume, retries and a sha256 check.

    The whole download (every attempt) ends after ``deadline_s``; an attempt slower than ``min_rate`` bytes/s
    over ``rate_window_s`` is dropped and retried (resuming)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    rep = _Reporter(url, dest.name, progress, show_bar)
    last: BaseException | None = None
    deadline = time.monotonic() + deadline_s
    try:
        for attempt in range(retries + 1):
            if time.monotonic() >= deadline:
                raise ArvcError(f"{url}: the download did not finish within its deadline")
            try:
                _attempt(url, part, rep, timeout, max_bytes, _Pace(url, deadline, min_rate, rate_window_s))
                last = None
                break
            except ArvcError:
                part.unlink(missing_ok=True)
                raise
            except urllib.error.HTTPError as e:
                last = e
                if e.code < 500 and e.code not in (408, 416, 429):  # 404, 403...: retrying will not help
                    break
            except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as e:
                last = e
                if isinstance(e, urllib.error.URLError) and isinstance(e.reason, ConnectionRefusedError) \
                        and attempt >= 1:
                    break
            if attempt < retries:
                time.sleep(min(0.5 * 2 ** attempt, 4.0))
    finally:
        rep.close()
    if last is not None:
        kept = f" ({part.stat().st_size} bytes kept in {part.name}; re-run to resume)" \
            if part.exists() and part.stat().st_size else ""
        raise ArvcError(f"download failed: {url}: {_reason(last)}{kept}")
    return _finish(part, dest, url, sha256)


class _HubBar:
    """A ``tqdm_class`` for ``hf_hub_download`` that forwards byte counts to a :class:`_Reporter`."""

    reporter: _Reporter | None = None

    def __init__(self, *args, total=None, initial=0, **kwargs):
        self.n = initial or 0
        if self.reporter is not None:
            self.reporter.begin(self.n, total)

    def update(self, n=1):
        self.n += n or 0
        if self.reporter is not None:
            self.reporter.add(n or 0)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def set_description(self, *a, **k):
        pass

    def refresh(self, *a, **k):
        pass


def download_hub(hub: HubFile, dest: str | os.PathLike, *, url: str, sha256: str | None = None,
                 progress: ProgressCallback | None = None, show_bar: bool = True) -> Path:
    """``hf_hub_download`` into a staging folder beside ``dest`` (resumable), verify, then rename into place."""
    from huggingface_hub import hf_hub_download

    from arvc.hub import endpoint, offline_reason

    reason = offline_reason()  # fail at once instead of huggingface_hub's retry loop
    if reason:
        raise ArvcError(f"download failed: {url}: the Hugging Face hub cannot be reached ({reason})")
    dest = Path(dest)
    staging = dest.parent / f".{dest.name}.hub"
    rep = _Reporter(url, dest.name, progress, show_bar)
    bar_class = type("HubBar", (_HubBar,), {"reporter": rep})
    try:
        got = Path(hf_hub_download(hub.repo_id, hub.filename, revision=hub.revision, repo_type=hub.repo_type,
                                   local_dir=staging, tqdm_class=bar_class, endpoint=endpoint()))
    except Exception as e:  # network, 404, offline mode: one line naming the URL
        text = str(e).strip().splitlines()
        raise ArvcError(f"download failed: {url}: {type(e).__name__}: {(text or [''])[0][:200]}") from None
    finally:
        rep.close()
    if sha256 is None:  # the hub's ETag of an LFS file is its sha256: check it when the catalog has none
        sha256 = _hub_lfs_sha256(staging, hub.filename)
    try:
        return _finish(got, dest, url, sha256)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _hub_lfs_sha256(local_dir: Path, filename: str) -> str | None:
    meta = local_dir / ".cache" / "huggingface" / "download" / f"{filename}.metadata"
    with contextlib.suppress(OSError):
        lines = meta.read_text(encoding="utf-8").splitlines()
        if len(lines) >= 2 and re.fullmatch(r"[0-9a-f]{64}", lines[1].strip()):
            return lines[1].strip()
    return None


def download(url: str, dest: str | os.PathLike, *, sha256: str | None = None,
             progress: ProgressCallback | None = None, show_bar: bool = True, timeout: float = TIMEOUT_S,
             retries: int = RETRIES, max_bytes: int | None = None) -> Path:
    """Download ``url`` to ``dest`` (hub links through ``huggingface_hub``, others over plain HTTP(S))."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise ArvcError(f"{url}: only http:// and https:// links can be downloaded")
    hub = parse_hub_url(url)
    if hub is not None:
        return download_hub(hub, dest, url=url, sha256=sha256, progress=progress, show_bar=show_bar)
    return download_http(url, dest, sha256=sha256, progress=progress, show_bar=show_bar, timeout=timeout,
                         retries=retries, max_bytes=max_bytes)
