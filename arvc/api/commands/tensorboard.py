"""``arvc tensorboard``: serve the TensorBoard of the training runs under the logs folder (Applio's
``tensorboard`` mode). Binds loopback unless ``--host`` says otherwise (TensorBoard has no authentication)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--logs_dir", default=None, help="root of experiment folders (default $ARVC_LOGS_DIR or ./logs)")
    parser.add_argument("--port", type=int, default=6006, help="port (default 6006)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; anything else exposes unauthenticated logs)")


def run(args: argparse.Namespace) -> int:
    from arvc.errors import ArvcError
    from arvc.paths import logs_root

    root = logs_root(args.logs_dir)
    if not root.is_dir():
        raise ArvcError(f"{root}: no logs folder (train a model first, or pass --logs_dir)")
    try:
        from tensorboard import program
    except ImportError:
        raise ArvcError("tensorboard is not installed (pip install tensorboard)") from None
    tb = program.TensorBoard()
    tb.configure(argv=[None, "--logdir", str(root), "--host", args.host, "--port", str(args.port)])
    print(f"TensorBoard of {root} at {tb.launch()} (Ctrl+C stops it)")
    import time

    while True:
        time.sleep(3600)
