"""``arvc ui``: the web UI (Gradio) on 127.0.0.1:7865; other hosts need ``--auth`` (or ``--insecure``)."""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path

from arvc.errors import ArvcError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


AUTH_ENV = "ARVC_UI_AUTH"


def parse_logins(auth: str | None, auth_file: Path | None, env: str | None = None) -> list[tuple[str, str]]:
    """``[(user, password)]`` from ``--auth user:password``, the lines of ``--auth_file`` and ``$ARVC_UI_AUTH``
    (``user:password``, several separated by newlines): the last two keep the password out of ``ps``."""
    entries: list[tuple[str, str]] = []
    sources = [("--auth", auth)] if auth else []
    if env and env.strip():
        sources += [(f"${AUTH_ENV}", ln.strip()) for ln in env.splitlines() if ln.strip()]
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
    import os

    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no telemetry
    logins = parse_logins(args.auth, Path(args.auth_file) if args.auth_file else None, os.environ.get(AUTH_ENV))
    check_exposure(args.host, args.share, logins, args.insecure)
    from arvc.ui.server import serve

    from arvc.ui.guard import check_output_dir, default_roots

    for d in args.allowed_dirs or []:
        if not Path(d).is_dir():
            raise ArvcError(f"--allowed_dirs {d}: not a folder")
    roots = [Path(d).resolve() for d in args.allowed_dirs] if args.allowed_dirs else list(default_roots())
    output_dir = check_output_dir(Path(args.output_dir), roots, "--output_dir")
    serve(host=args.host, port=args.port, logins=logins, share=args.share, output_dir=output_dir,
          allowed_dirs=roots, max_upload_mb=args.max_upload_mb)
    return 0
