"""``arvc quickstart``: the whole workflow on the bundled demo voice."""

from __future__ import annotations

import argparse
from pathlib import Path

from arvc.api.options_tools import QUICKSTART


def run(args: argparse.Namespace) -> int:
    from arvc.stages.quickstart import QuickstartConfig, quickstart

    kwargs = QUICKSTART.config_kwargs(args)
    s = quickstart(QuickstartConfig(**{**kwargs, "output_dir": Path(kwargs["output_dir"]), "voices": Path(kwargs["voices"])}))
    print()
    print(f"experiment folder : {s.experiment}")
    print(f"voice model       : {s.model}")
    print(f"index             : {s.index}")
    print(f"converted audio   : {s.converted}")
    print(f"scores            : {s.scores}")
    print(f"spectrogram PNGs  : {s.plots}")
    if s.ranking:
        print(f"epoch ranking     : {s.ranking}")
    print(f"embedder / F0     : {s.embedder} / {s.f0_method}")
    print(f"pretrain          : {s.pretrains}")
    sim_o, sim_s = s.mean_similarity_output_to_target, s.mean_similarity_source_to_target
    print(f"speaker similarity to slt: converted {sim_o:.3f} vs unconverted kal {sim_s:.3f}")
    print(f"CER {s.mean_cer:.3f}   F0 correlation {s.mean_f0_corr:.3f}   DNSMOS {s.mean_dnsmos:.2f}")
    if not s.used_pretrains:
        print("note: a few minutes of from-scratch training on a CPU learn the target's timbre and follow the "
              "source's pitch, but clear speech takes hours of training, or a pretrain (the starter pretrain "
              "in assets/pretrains, or the standard pretrains downloaded when the Hugging Face hub is reachable); "
              "scores vary from run to run")
    print(f"wall time {s.wall_s / 60:.1f} min")
    return 0
