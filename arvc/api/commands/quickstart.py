"""``arvc quickstart``: the whole workflow on the bundled demo voice."""

from __future__ import annotations

import argparse
from pathlib import Path

from arvc.api.argtypes import add_bool
from arvc.constants import SAMPLE_RATES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model_name", default="quickstart_slt")
    p.add_argument("--logs_dir", default=None, help="root of experiment folders (default $ARVC_LOGS_DIR or ./logs)")
    p.add_argument("--output_dir", type=Path, default=Path("outputs/quickstart"), help="converted audio and scores")
    p.add_argument("--sample_rate", type=int, choices=SAMPLE_RATES, default=32000)
    p.add_argument("--train_minutes", type=float, default=12.0, help="training time budget (default 12)")
    p.add_argument("--epochs", type=int, default=2000,
                   help="upper bound on training epochs (default 2000: the time budget ends the run first)")
    p.add_argument("--batch_size", type=int, default=4, help="training batch size (default 4)")
    add_bool(p, "--offline", False, "don't try the model hub (Whisper embedder, training from scratch)")
    p.add_argument("--f0_method", default=None, help="default: rmvpe if its weights are present, else fcpe")
    p.add_argument("--embedder_model", default=None, help="default: contentvec if available, else whisper-tiny.en")
    p.add_argument("--pitch", type=float, default=None, help="semitones (default: from the median F0s)")
    p.add_argument("--cpu_cores", type=int, default=None)
    p.add_argument("--rank_last", type=int, default=4,
                   help="rank the last N saved epochs on held-out clips and convert with the best (default 4; "
                        "0 or 1: the final weights)")
    p.add_argument("--save_every", type=int, default=5, help="epochs between saved weights files (default 5)")
    p.add_argument("--voices", type=Path, default=None,
                   help="folder with slt/, slt_test/, kal/ and sentences.txt (default: the bundled assets/voices)")


def run(args: argparse.Namespace) -> int:
    from arvc.stages.quickstart import QuickstartConfig, quickstart

    s = quickstart(QuickstartConfig(
        model_name=args.model_name, logs_dir=args.logs_dir, output_dir=args.output_dir,
        sample_rate=args.sample_rate, train_minutes=args.train_minutes, epochs=args.epochs,
        batch_size=args.batch_size,
        offline=args.offline, f0_method=args.f0_method, embedder_model=args.embedder_model, pitch=args.pitch,
        cpu_cores=args.cpu_cores, rank_last=args.rank_last, save_every=args.save_every,
        **({"voices": args.voices} if args.voices else {}),
    ))
    print()
    print(f"experiment folder : {s.experiment}")
    print(f"voice model       : {s.model}")
    print(f"index             : {s.index}")
    print(f"converted audio   : {s.converted}")
    print(f"scores            : {s.scores}")
    print(f"spectrogram PNGs  : {s.plots}")
    if s.ranking:
        print(f"epoch ranking     : {s.ranking}")
    print(f"embedder / F0     : {s.embedder} / {s.f0_method}  ({s.pretrains})")
    sim_o, sim_s = s.mean_similarity_output_to_target, s.mean_similarity_source_to_target
    print(f"speaker similarity to slt: converted {sim_o:.3f} vs unconverted kal {sim_s:.3f}")
    print(f"CER {s.mean_cer:.3f}   F0 correlation {s.mean_f0_corr:.3f}   DNSMOS {s.mean_dnsmos:.2f}")
    if not s.used_pretrains:
        print("note: a few minutes of from-scratch training on a CPU learn the target's timbre and follow the "
              "source's pitch, but clear speech takes hours of training, or the standard pretrains "
              "(downloaded when the Hugging Face hub is reachable); scores vary from run to run")
    print(f"wall time {s.wall_s / 60:.1f} min")
    return 0
