"""Build the F0 reference fixtures of this folder (see README.md).

    # 1. the inputs, with arvc's own environment (reads the bundled voices, WORLD-resynthesises a corpus)
    PYTHONPATH=. python tests/data/f0_reference/make_reference.py inputs
    # 2. the reference outputs, in a SEPARATE environment holding the reference packages (never arvc's)
    /work/pitch-ref-venv/bin/python tests/data/f0_reference/make_reference.py reference

Step 2 imports pesto-pitch, torchcrepe and torchfcpe, which import torchaudio at module level; torchaudio
is not installed: an import-time stand-in is registered whose every attribute raises when used (the
paths run here never touch it). torchcrepe's triangular dither (``scipy.stats.triang.rvs``) is replaced
by zeros so its output is deterministic (as in ../../../../shared/fixtures, "the zero-noise convention").
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SR, HOP = 16000, 160


def make_inputs() -> None:
    root = HERE.parents[2]
    sys.path.insert(0, str(root / "benchmarks"))
    import pitch_corpus as pc
    from arvc.audio.io import load_audio

    voices = root / "assets" / "voices"
    corpus, lines = pc.build_corpus([voices], 1, 1.0, seed=0)
    audio = {
        "kal": load_audio(voices / "kal" / "kal_51.flac", SR),
        "slt": load_audio(voices / "slt" / "slt_04.flac", SR),
        "corpus": corpus.audio,
    }
    ints = {k: np.clip(np.round(v * 32767), -32768, 32767).astype(np.int16) for k, v in audio.items()}
    np.savez_compressed(HERE / "inputs.npz", **ints, corpus_f0=corpus.f0.astype(np.float32),
                        corpus_voiced=corpus.voiced, corpus_clips=np.array(lines))


def _stand_in_torchaudio() -> None:
    """Register ``torchaudio`` (and ``torchaudio.transforms``) modules whose attributes raise on use."""

    class _Unavailable:
        def __init__(self, *a, **k):
            raise RuntimeError("torchaudio is not installed (stand-in)")

    class _Module(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return _Unavailable

    for name in ("torchaudio", "torchaudio.transforms", "torchaudio.functional"):
        sys.modules[name] = _Module(name)


def make_reference() -> None:
    _stand_in_torchaudio()
    import scipy.stats
    import torch

    torch.set_num_threads(2)
    scipy.stats.triang.rvs = lambda *a, size=None, **k: np.zeros(size)  # torchcrepe's dither -> 0
    import pesto
    import torchcrepe
    from torchfcpe import spawn_bundled_infer_model

    data = np.load(HERE / "inputs.npz")
    fcpe = spawn_bundled_infer_model(device="cpu")
    out = {}
    for key in ("kal", "slt", "corpus"):
        x = torch.from_numpy(data[key].astype(np.float32) / 32767)
        _, f0, conf, _ = pesto.predict(x, SR, step_size=10.0, model_name="mir-1k_g7", convert_to_freq=True)
        out[f"{key}__pesto_f0"], out[f"{key}__pesto_conf"] = f0.numpy(), conf.numpy()
        for model in ("tiny", "full"):
            f0, pd = torchcrepe.predict(x[None], SR, HOP, 50, 1100, model, batch_size=512, device="cpu",
                                        return_periodicity=True, decoder=torchcrepe.decode.viterbi)
            pd = torchcrepe.filter.median(pd, 3)
            f0 = torchcrepe.filter.mean(f0, 3)
            f0[pd < 0.1] = 0
            out[f"{key}__crepe-{model}_f0"] = f0[0].numpy()
        f0 = fcpe.infer(x[None, :, None], sr=SR, decoder_mode="local_argmax", threshold=0.006)
        out[f"{key}__fcpe_f0"] = f0[0, :, 0].numpy()
    out = {k: np.asarray(v, np.float32) for k, v in out.items()}
    np.savez_compressed(HERE / "reference.npz", **out)
    versions = {m: __import__(m).__version__ if hasattr(__import__(m), "__version__") else "?"
                for m in ("torch", "numpy", "scipy", "librosa")}
    print("versions", versions, {k: v.shape for k, v in out.items()})


if __name__ == "__main__":
    {"inputs": make_inputs, "reference": make_reference}[sys.argv[1]]()
