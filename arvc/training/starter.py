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
    """What a starter pretrain fits: features (embedder, F0 method), rate, version, model size."""

    name: str
    embedder: str
    f0_method: str
    sample_rate: int
    version: str
    model_size: str

    @property
    def folder(self) -> Path:
        return PRETRAINS_DIR / self.name

    @property
    def g(self) -> Path:
        return self.folder / "G.pth"

    @property
    def d(self) -> Path:
        return self.folder / "D.pth"

    def missing(self) -> str | None:
        """None when both files are there, else why not (for the user)."""
        absent = [p.name for p in (self.g, self.d) if not p.is_file()]
        if absent:
            return f"starter pretrain {self.name} not found ({', '.join(absent)} missing in {self.folder})"
        return None

    def fits(self, embedder: str, f0_method: str, sample_rate: int, version: str) -> str | None:
        """None when a run with these settings can fine-tune from this pretrain, else why not."""
        want = (self.embedder, self.f0_method, self.sample_rate, self.version)
        have = (embedder, f0_method, sample_rate, version)
        if want != have:
            return (f"starter pretrain {self.name} is for {self.embedder} + {self.f0_method} at {self.sample_rate} Hz "
                    f"{self.version}; this run uses {embedder} + {f0_method} at {sample_rate} Hz {version}")
        return None


STARTER = StarterSpec(name="starter_whisper_fcpe_v2_32k_small", embedder="whisper-tiny.en", f0_method="fcpe",
                      sample_rate=32000, version="v2", model_size="small")
