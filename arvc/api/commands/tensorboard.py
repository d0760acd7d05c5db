"""``arvc tensorboard``: serve the TensorBoard of the training runs under the logs folder (Applio's
``tensorboard`` mode). Binds loopback unless ``--host`` says otherwise (TensorBoard has no authentication)."""

from __future__ import annotations

import argparse


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
    prefix = ["--path_prefix", args.path_prefix] if args.path_prefix else []
    tb.configure(argv=[None, "--logdir", str(root), "--host", args.host, "--port", str(args.port), *prefix])
    print(f"TensorBoard of {root} at {tb.launch()} (Ctrl+C stops it)")
    import time

    while True:
        time.sleep(3600)
