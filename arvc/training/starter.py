"""The project's own starter pretrain: what it was trained for, and where its G/D files live.

The offline quickstart (Whisper tiny.en content features, FCPE F0, v2 32 kHz, the ``small`` model) has no
published pretrain; ``scripts/starter_pretrain.py`` trains one on synthetic multi-speaker speech and exports
it here in fp16. A fine-tune must use the same features, rate and model size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PRETRAINS_DIR = Path(__file__).resolve().parents[2] / "assets" / "pretrains"


@dataclass(frozen=True)
class StarterSpec:
    """What a starter pretrain was trained with: features (embedder, F0 method), rate, version, model size."""

    name: str
    embedder: str
    f0_method: str
    sample_rate: int
    version: str
    model_size: str

    @property
    def folder(self) -> Path:
        return PRETRAINS_DIR / self.name

    def fits(self, embedder: str, sample_rate: int, version: str) -> str | None:
        """None when a run with these settings can fine-tune from this pretrain, else why not. The F0 method
        is not checked: every F0 estimator gives the model the same kind of input (Hz and coarse bins)."""
        if (self.embedder, self.sample_rate, self.version) != (embedder, sample_rate, version):
            return (f"starter pretrain {self.name} is for {self.embedder} features at {self.sample_rate} Hz "
                    f"{self.version}; this run uses {embedder} at {sample_rate} Hz {version}")
        return None


STARTER = StarterSpec(name="starter_whisper_fcpe_v2_32k_small", embedder="whisper-tiny.en", f0_method="fcpe",
                      sample_rate=32000, version="v2", model_size="small")


@dataclass(frozen=True)
class StarterChoice:
    """``g``/``d`` (None: not usable) and ``why``, a sentence for the user either way."""

    g: Path | None
    d: Path | None
    why: str
    model_size: str = STARTER.model_size


def choose_starter(embedder: str, sample_rate: int, version: str = "v2",
                   folder: Path | None = None) -> StarterChoice:
    """The starter pretrain in ``folder`` (default: the shipped one) if it fits the run, else why not.

    What it fits is read from its ``pretrain.json`` (written by :mod:`arvc.training.pretrain_export`), falling
    back to :data:`STARTER`. The files themselves are read later, through the safe loader, by the trainer.
    """
    import json

    folder = Path(folder) if folder is not None else STARTER.folder
    g, d, manifest = folder / "G.pth", folder / "D.pth", folder / "pretrain.json"
    absent = [p.name for p in (g, d) if not p.is_file()]
    if absent:
        return StarterChoice(None, None, f"no starter pretrain ({', '.join(absent)} missing in {folder})")
    info: dict = {}
    if manifest.is_file():
        try:
            info = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            return StarterChoice(None, None, f"starter pretrain {manifest} unreadable ({e})")
    spec = StarterSpec(name=str(info.get("name", STARTER.name)), embedder=str(info.get("embedder", STARTER.embedder)),
                       f0_method=str(info.get("f0_method", STARTER.f0_method)),
                       sample_rate=int(info.get("sample_rate", STARTER.sample_rate)),
                       version=str(info.get("version", STARTER.version)),
                       model_size=str(info.get("model_size", STARTER.model_size)))
    why_not = spec.fits(embedder, sample_rate, version)
    if why_not:
        return StarterChoice(None, None, why_not)
    trained = f"epoch {info['epoch']}, step {info.get('step', '?')}, " if "epoch" in info else ""
    speakers = f"{info['speakers']} speakers, " if info.get("speakers") else ""
    return StarterChoice(g, d, f"starter pretrain {spec.name} ({trained}{speakers}{spec.model_size} model, "
                               f"F0 {spec.f0_method})",
                         spec.model_size)
