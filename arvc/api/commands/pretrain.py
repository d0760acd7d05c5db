"""``arvc pretrain export|merge|list``: pretrains made on this machine (``<models>/pretrains_local``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from arvc.api.options_tools import PRETRAIN


def _table(rows: list[dict]) -> str:
    head = ("name", "rate", "ver", "embedder", "size", "speakers", "epoch", "folder")
    body = [(r.get("name", Path(r["folder"]).name), f"{int(r.get('sample_rate') or 0) // 1000}k",
             r.get("version", "-"), r.get("embedder", "-"), r.get("model_size", "-"), r.get("speakers", "-"),
             r.get("epoch", "-"), r["folder"]) for r in rows]
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(x, widths)).rstrip() for x in [head, *body])


def run(args: argparse.Namespace) -> int:
    from arvc.stages import pretrain as stage
    from arvc.stages.config import PretrainExportConfig, PretrainMergeConfig

    if args.action == "export":
        cfg = PretrainExportConfig(**PRETRAIN.sub("export").config_kwargs(args))
        out = stage.export_pretrain(cfg)
        print(f"wrote {out.g.parent}: G.pth, D.pth (epoch {out.epoch}, step {out.step}, {cfg.dtype}); "
              f"train from it with --pretrained_g {out.g} --pretrained_d {out.d}")
        return 0
    if args.action == "merge":
        cfg = PretrainMergeConfig(**PRETRAIN.sub("merge").config_kwargs(args))
        out = stage.merge_pretrains(cfg)
        print(f"wrote {out.g.parent}: {cfg.ratio:g} x {cfg.pretrain_a} + {1 - cfg.ratio:g} x {cfg.pretrain_b}")
        return 0
    rows = stage.local_pretrains()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(_table(rows) if rows else "no local pretrains (make one: `arvc pretrain export logs/<model>`)")
    return 0
