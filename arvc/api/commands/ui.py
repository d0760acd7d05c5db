"""``arvc ui``: the web UI (Gradio) on 127.0.0.1:7865; other hosts need ``--auth`` (or ``--insecure``)."""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path

from arvc.api.argtypes import add_bool
from arvc.errors import ArvcError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7865, help="port (default 7865)")
    p.add_argument("--auth", default=None, metavar="USER:PASSWORD", help="require this login")
    p.add_argument("--auth_file", type=Path, default=None,
                   help="file of 'user:password' lines (one login per line), instead of --auth")
    add_bool(p, "--insecure", False, "allow a non-loopback --host or --share without a login")
    add_bool(p, "--share", False, "also publish a temporary public gradio.live link (needs a login)")
    p.add_argument("--output_dir", type=Path, default=Path("outputs/ui"),
                   help="where uploads, conversions and exports go (default outputs/ui; inside --allowed_dirs)")
    p.add_argument("--allowed_dirs", type=Path, nargs="+", default=None, metavar="DIR",
                   help="the only server folders the UI's fields may name (default: the logs, datasets and models "
                   "folders and the folder the UI is started in)")
    p.add_argument("--max_upload_mb", type=int, default=500, help="largest upload the server accepts (default 500 MB)")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_logins(auth: str | None, auth_file: Path | None) -> list[tuple[str, str]]:
    """``[(user, password)]`` from ``--auth user:password`` and the lines of ``--auth_file``."""
    entries: list[tuple[str, str]] = []
    sources = [("--auth", auth)] if auth else []
    if auth_file is not None:
        try:
            text = auth_file.read_text(encoding="utf-8")
        except OSError as e:
            raise ArvcError(f"{auth_file}: cannot read the auth file ({e.strerror})") from None
        sources += [(str(auth_file), ln.strip()) for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    for where, item in sources:
        user, sep, password = item.partition(":")
        if not sep or not user or not password:
            raise ArvcError(f"{where}: expected user:password, got {item.split(':')[0]!r}...")
        entries.append((user, password))
    if auth_file is not None and not entries:
        raise ArvcError(f"{auth_file}: no user:password line")
    return entries


def check_exposure(host: str, share: bool, logins: list, insecure: bool) -> None:
    """Refuse to serve beyond this machine without a login, unless ``--insecure``."""
    if logins or insecure:
        return
    if share:
        raise ArvcError("--share publishes the UI on the internet: give --auth user:password (or --auth_file), "
                        "or --insecure")
    if not is_loopback(host):
        raise ArvcError(f"--host {host} makes the UI reachable from other machines: give --auth user:password "
                        "(or --auth_file), or --insecure")


def run(args: argparse.Namespace) -> int:
    logins = parse_logins(args.auth, args.auth_file)
    check_exposure(args.host, args.share, logins, args.insecure)
    from arvc.ui.server import serve

    if not 1 <= args.max_upload_mb <= 100_000:
        raise ArvcError(f"--max_upload_mb {args.max_upload_mb}: expected 1..100000")
    for d in args.allowed_dirs or []:
        if not d.is_dir():
            raise ArvcError(f"--allowed_dirs {d}: not a folder")
    serve(host=args.host, port=args.port, logins=logins, share=args.share, output_dir=args.output_dir,
          allowed_dirs=args.allowed_dirs, max_upload_mb=args.max_upload_mb)
    return 0
