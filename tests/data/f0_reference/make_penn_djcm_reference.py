"""Build penn_djcm_reference.npz: the outputs of penn's own code (FCNF0++) and of Vietnamese-RVC's DJCM code on
deterministic random weights (random_weights.py), for tests/test_f0_penn.py and tests/test_f0_djcm.py.

The real weights cannot be fetched here (the hub is unreachable), so these fixtures check the architecture,
state-dict layout, framing and decoding against the reference code, not the trained behaviour.

    # penn 1.0.0 and what it imports, unpacked without dependencies (never into arvc's venv):
    pip download --no-deps penn==1.0.0 torchutil==0.1.2 yapecs==0.5.0 -d /tmp/penn_dl
    pip install --no-deps --target /tmp/penn_ref /tmp/penn_dl/*.whl
    # Vietnamese-RVC's DJCM files (commit a807d55ff3f194872cd13914ac4fb820c2dfd051), laid out as
    # /tmp/vrvc/main/library/predictors/DJCM/{DJCM,model,encoder,decoder,utils,spec}.py with empty __init__.py files
    python tests/data/f0_reference/make_penn_djcm_reference.py /tmp/penn_ref /tmp/vrvc

Run in a process that does not import arvc. Stand-ins registered at import time: ``torchaudio``,
``huggingface_hub`` and ``apprise`` (raise when used; the paths run here never use them) and ``torbi``,
whose compiled Viterbi has no build for this torch: its ``from_probabilities`` is replaced by
``librosa.sequence.viterbi`` with the same transition and initial distribution. ``main.app.variables``
(Vietnamese-RVC's settings) is a stand-in with ``config.device = "cpu"``.
"""

from __future__ import annotations

import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from random_weights import random_state


def _raise(*args, **kwargs):
    raise RuntimeError("not installed (stand-in)")


def _module(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    for k, v in attrs.items():
        setattr(mod, k, v)
    sys.modules[name] = mod
    return mod


def _stand_ins() -> None:
    ta = _module("torchaudio", load=_raise, info=_raise, save=_raise)
    ta.transforms = _module("torchaudio.transforms", Resample=_raise)
    _module("huggingface_hub", hf_hub_download=_raise)
    _module("apprise", Apprise=_raise, AppriseAsset=_raise)

    def from_probabilities(observation, batch_frames=None, transition=None, initial=None, log_probs=False,
                           gpu=None, num_threads=1):
        import librosa

        obs = observation[0].double().numpy()
        obs = np.exp(obs) if log_probs else obs
        path = librosa.sequence.viterbi(obs.T, transition.double().numpy(), p_init=initial.double().numpy())
        return torch.from_numpy(path.astype(np.int64))[None]

    _module("torbi", from_probabilities=from_probabilities)
    app = _module("main.app")
    app.variables = _module("main.app.variables", config=types.SimpleNamespace(device="cpu"))


def tone(sr: int, seconds: float, f_start: float, f_end: float) -> np.ndarray:
    """A harmonic glide (5 partials, 1/k) followed by nothing: float32 (sr * seconds,)."""
    n = int(sr * seconds)
    f = np.linspace(f_start, f_end, n)
    phase = 2 * np.pi * np.cumsum(f) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 6))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def _layout(shapes: dict[str, tuple[int, ...]]) -> np.ndarray:
    """The state dict's names and shapes, in order, as strings ``name (d0, d1, ...)``."""
    return np.array([f"{k} {tuple(v)}" for k, v in shapes.items()])


def penn_reference(tmp: Path) -> dict[str, np.ndarray]:
    import penn

    shapes = {k: tuple(v.shape) for k, v in penn.Model().state_dict().items()}
    ckpt = tmp / "fcnf0++.pt"
    torch.save({"model": {k: torch.from_numpy(v) for k, v in random_state(shapes).items()}}, ckpt)
    rng = np.random.default_rng(0)
    audio = np.concatenate([tone(8000, 0.6, 150.0, 300.0), 0.01 * rng.standard_normal(3200).astype(np.float32)])
    x = torch.from_numpy(audio)[None]
    kw = {"hopsize": 0.01, "fmin": 50.0, "fmax": 1100.0, "checkpoint": ckpt, "center": "zero"}
    pitch, periodicity = penn.from_audio(x, 8000, decoder="viterbi", **kw)
    pitch_argmax, _ = penn.from_audio(x, 8000, decoder="argmax", **kw)
    frames = next(penn.preprocess(x, 8000, 0.01, None, "zero"))
    logits = penn.infer(frames, ckpt)[:, :, 0]
    return {"penn_audio_8k": audio, "penn_pitch": pitch[0].numpy(), "penn_periodicity": periodicity[0].numpy(),
            "penn_pitch_argmax": pitch_argmax[0].numpy(), "penn_logit_max": logits.max(1).values.numpy(),
            "penn_logit_argmax": logits.argmax(1).numpy(), "penn_state_shapes": _layout(shapes)}


def djcm_reference(tmp: Path) -> dict[str, np.ndarray]:
    from main.library.predictors.DJCM.DJCM import DJCM
    from main.library.predictors.DJCM.model import DJCMM

    shapes = {k: tuple(v.shape) for k, v in DJCMM(1, 1, 1, svs=False, window_length=1024, n_class=360).state_dict().items()}
    path = tmp / "djcm.pt"
    torch.save({k: torch.from_numpy(v) for k, v in random_state(shapes).items()}, path)
    djcm = DJCM(str(path), device="cpu", segment_len=0.16)  # 16-frame segments, as the test runs arvc's
    seen = {}
    decode = djcm.decode
    djcm.decode = lambda hidden, thred=0.03: seen.setdefault("salience", hidden.numpy()) is not None and decode(hidden, thred)
    audio = tone(16000, 0.15, 180.0, 240.0)
    f0 = djcm.infer_from_audio(audio, thred=0.0)
    return {"djcm_audio": audio, "djcm_salience": seen["salience"], "djcm_f0": np.asarray(f0, np.float32),
            "djcm_state_shapes": _layout(shapes)}


def main(penn_dir: str, vrvc_dir: str) -> None:
    torch.set_num_threads(1)
    sys.path[:0] = [penn_dir, vrvc_dir]
    _stand_ins()
    with tempfile.TemporaryDirectory() as tmp:
        out = penn_reference(Path(tmp)) | djcm_reference(Path(tmp))
    np.savez_compressed(HERE / "penn_djcm_reference.npz", **out)
    print({k: v.shape for k, v in out.items()})


if __name__ == "__main__":
    main(*sys.argv[1:3])
