"""Do a from-scratch run's voices show mirrored harmonics or a line at an upsampling stage's Nyquist frequency?

Converts one clip with each given voice model (e.g. the epochs of a from-scratch run), scores every output and the
input itself (natural speech, resampled to the model's rate) with :mod:`arvc.evaluation.artifacts`, prints a table
and writes a spectrogram picture (0 to the Nyquist frequency, the folds marked):

    python scripts/scratch_artifacts.py -i assets/voices/kal/kal_51.flac -o docs/scratch-artifacts.png \\
        logs/starter/starter_1e_1026s.pth logs/starter/starter_3e_3078s.pth
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np


def _convert(model: Path, clip: Path, out_dir: Path, speaker: int) -> Path:
    from arvc.inference.config import InferenceConfig
    from arvc.stages.infer import InferRun, infer

    cfg = InferenceConfig(f0_method="fcpe", index_rate=0.0, speaker_id=speaker, seed=0, precision="fp32")
    res = infer(InferRun(model=model, inputs=[clip], output=out_dir / f"{model.stem}.wav", config=cfg, quiet=True))
    if res.failed:
        raise SystemExit(f"{model}: {res.failed[0][1]}")
    return out_dir / f"{model.stem}.wav"


def _plot(path: Path, panels: list[tuple[str, np.ndarray]], sr: int, folds: list[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from arvc.evaluation.plots import _log_spec

    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.6 * len(panels)), squeeze=False, sharex=True)
    for ax, (title, audio) in zip(axes[:, 0], panels):
        spec = _log_spec(audio, n_fft=1024, hop=sr // 100)
        ax.imshow(spec, origin="lower", aspect="auto", extent=[0, spec.shape[1] / 100, 0, sr / 2], cmap="magma",
                  vmin=spec.max() - 90, vmax=spec.max())
        for f in folds:
            ax.axhline(f, color="cyan", linewidth=0.6, linestyle=":")
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("Hz")
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(path, dpi=60)
    plt.close(fig)
    from PIL import Image

    with Image.open(path) as im:  # a 64-colour palette: a fifth of the size, the spectrograms unchanged to the eye
        small = im.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    small.save(path, optimize=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+", type=Path, help="voice model files (.pth), e.g. one per epoch")
    ap.add_argument("-i", "--input", type=Path, required=True, help="speech clip to convert")
    ap.add_argument("-o", "--out", type=Path, default=None, help="spectrogram picture (.png)")
    ap.add_argument("--speaker", type=int, default=0, help="speaker id of a multi-speaker model")
    ap.add_argument("--json", type=Path, default=None, help="also write the scores as JSON")
    args = ap.parse_args()

    from arvc.audio.io import load_audio
    from arvc.evaluation.artifacts import artifact_report, fold_frequencies
    from arvc.formats.rvc_pth import read_model

    cfg = read_model(args.models[0]).config
    sr, folds = cfg.sample_rate, fold_frequencies(cfg.sample_rate, list(cfg.upsample_rates))
    rows, panels = [], [("input (natural speech)", load_audio(args.input, sr))]
    with tempfile.TemporaryDirectory() as tmp:
        for m in args.models:
            panels.append((m.name, load_audio(_convert(m, args.input, Path(tmp), args.speaker), sr)))
    for name, audio in panels:
        rep = artifact_report(audio, sr, folds)
        rows.append({"audio": name, "folds_hz": rep.folds, "mirror": rep.mirror, "line_db": rep.line,
                     "mirror_control": rep.mirror_control})
    print(f"{'audio':44s} " + " ".join(f"mirror@{f / 1000:g}k line@{f / 1000:g}k" for f in rows[0]["folds_hz"])
          + " mirror(control)")
    for r in rows:
        cells = " ".join(f"{m:9.3f} {ln:8.2f}dB" for m, ln in zip(r["mirror"], r["line_db"]))
        print(f"{r['audio'][:44]:44s} {cells} {r['mirror_control']:9.3f}")
    if args.out:
        _plot(args.out, panels, sr, rows[0]["folds_hz"])
        print(f"picture: {args.out}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
