"""Per-file scoring, averaging, and the table / JSON / CSV outputs."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from arvc.atomic import atomic_path, write_json

NUMERIC_ORDER = (
    "sim_target", "sim_source", "source_sim_target", "f0_corr", "f0_rmse_cents", "voicing_agreement",
    "cer", "mos_ovrl", "mos_sig", "mos_bak", "mos_p808", "combined",
)

# weights of the combined score (terms whose metric is missing are left out)
COMBINED_WEIGHTS = {"sim_target": 1.0, "f0_corr": 0.5, "cer": -0.5, "mos_ovrl": 0.25}


def combined_score(row: dict[str, Any]) -> float:
    """sim_target + 0.5·f0_corr − 0.5·CER + 0.25·(DNSMOS_ovrl − 3); missing or NaN terms are skipped."""
    total, used = 0.0, 0
    for key, w in COMBINED_WEIGHTS.items():
        v = row.get(key)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        total += w * (v - 3.0 if key == "mos_ovrl" else v)
        used += 1
    return total if used else float("nan")


def mean_row(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Mean of every numeric field over ``rows`` (NaN and missing values ignored)."""
    out: dict[str, float] = {}
    for key in NUMERIC_ORDER:
        vals = [r[key] for r in rows if isinstance(r.get(key), (int, float)) and not math.isnan(r[key])]
        if vals:
            out[key] = sum(vals) / len(vals)
    return out


def format_score(v: Any) -> str:
    """A table cell: floats with 3 decimals, NaN and None as ``-``."""
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.3f}"
    return "-" if v is None else str(v)


def render_table(rows: list[dict[str, Any]], mean: dict[str, float], title: str = "scores") -> str:
    """A plain-text table (one line per file plus the mean)."""
    cols = ["file"] + [k for k in NUMERIC_ORDER if any(k in r for r in rows) or k in mean]
    lines = [[c for c in cols]]
    for r in rows:
        lines.append([format_score(r.get(c)) for c in cols])
    lines.append(["MEAN"] + [format_score(mean.get(c)) for c in cols[1:]])
    widths = [max(len(line[i]) for line in lines) for i in range(len(cols))]
    out = io.StringIO()
    out.write(f"{title}\n")
    for n, line in enumerate(lines):
        out.write("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() + "\n")
        if n == 0 or n == len(lines) - 2:
            out.write("  ".join("-" * w for w in widths) + "\n")
    return out.getvalue()


def write_outputs(out_dir: Path, rows: list[dict[str, Any]], mean: dict[str, float], extra: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``scores.json`` (rows, mean, extra) and ``scores.csv`` (rows + MEAN) atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out_dir / "scores.json", out_dir / "scores.csv"
    write_json(json_path, {"files": rows, "mean": mean, **extra})
    cols = ["file"] + [k for k in NUMERIC_ORDER if any(k in r for r in rows)] + ["transcript", "error"]
    with atomic_path(csv_path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
            w.writeheader()
            for r in rows:
                w.writerow({c: r.get(c, "") for c in cols})
            w.writerow({"file": "MEAN", **{k: v for k, v in mean.items() if k in cols}})
    return json_path, csv_path
