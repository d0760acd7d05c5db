"""``arvc export-onnx model.pth -o model.onnx``: ONNX graph of the inference path (checked with onnxruntime)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path


def has_pitch(onnx_path: Path) -> bool:
    import onnx

    return any(i.name == "pitch" for i in onnx.load(str(onnx_path), load_external_data=False).graph.input)


def run(args: argparse.Namespace) -> int:
    from arvc.errors import ArvcError
    from arvc.formats.onnx_export import export_onnx
    from arvc.stages.config import OnnxExportConfig

    args.model = Path(args.model)
    output = Path(args.output) if args.output else args.model.with_suffix(".onnx")
    try:
        out, err = export_onnx(**asdict(OnnxExportConfig(args.model, output, opset=args.opset, check=args.check)))
    except OSError as e:
        if e.filename and Path(e.filename) == args.model:
            raise ArvcError(f"cannot read {args.model}: {e.strerror or e}") from None
        raise ArvcError(f"cannot write {output}: {e.strerror or e}") from None
    pitch = "pitch, pitchf, " if has_pitch(out) else ""
    msg = f"wrote {out} (inputs: phone, phone_lengths, {pitch}sid, rnd; output: audio)"
    if err is not None:
        msg += f"; onnxruntime vs torch max abs error {err:.3g}"
    print(msg)
    if err is not None and not err <= args.tolerance:
        raise ArvcError(f"{out}: onnxruntime output differs from torch by {err:.3g} (> --tolerance {args.tolerance:g})")
    return 0
