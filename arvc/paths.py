"""The experiment folder layout (as Applio's). The only module besides device.py that reads the environment.

logs/<model>/
  model_info.json       dataset summary, embedder_model, f0_method, ...
  config.json           the model preset used for training
  sliced_audios/        <sid>_<file>_<chunk>.wav at the target rate
  sliced_audios_16k/    same chunks at 16 kHz
  f0/  f0_voiced/       coarse pitch (1..255, int) and Hz per 10 ms frame (float32), <chunk>.wav.npy
  extracted/            content features per 20 ms frame (256 or 768 dims, float32), <chunk>.wav.npy
  filelist.txt          wav|feat|f0|f0_voiced|sid per line
  mute/                 a silent chunk and its features (filelist rows per speaker)
  G_<n>.pth  D_<n>.pth  training checkpoints (pretrain format)
  <model>_<E>e_<S>s.pth small inference models
  <model>.index         FAISS IVF,Flat
  eval/                 TensorBoard events
  eval_ranking/         scores of the saved weights files (arvc evaluate --model_dir)

Folder and file names are spelled only here; what ``model_info.json`` and ``filelist.txt`` hold is
:mod:`arvc.experiment`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

LOGS_ENV = "ARVC_LOGS_DIR"
MODELS_ENV = "ARVC_MODELS_DIR"
DATASETS_ENV = "ARVC_DATASETS_DIR"
WEIGHTS_NAME = re.compile(r"^(?P<name>.+)_(?P<epoch>\d+)e_(?P<step>\d+)s\.pth$")  # <model>_<E>e_<S>s.pth
_CHECKPOINT_RE = re.compile(r"^([GD])_(\d+)\.pth$")


def logs_root(override: str | os.PathLike | None = None) -> Path:
    """Root of all experiment folders: ``override`` > $ARVC_LOGS_DIR > ./logs."""
    if override:
        return Path(override)
    return Path(os.environ.get(LOGS_ENV) or "logs")


def datasets_root() -> Path:
    """Default parent of datasets: $ARVC_DATASETS_DIR > ./datasets."""
    return Path(os.environ.get(DATASETS_ENV) or "datasets")


def models_root() -> Path:
    """Where downloaded weights (rmvpe.pt, embedders, pretrains) are kept: $ARVC_MODELS_DIR > ~/.cache/arvc."""
    env = os.environ.get(MODELS_ENV)
    return Path(env) if env else Path.home() / ".cache" / "arvc"


def check_model_name(name: str) -> str:
    """A model name is one plain folder name (:func:`arvc.safe_paths.plain_name`). Raises ArvcError."""
    from arvc.safe_paths import plain_name

    return plain_name(name, "model name")


@dataclass(frozen=True)
class ExperimentPaths:
    """Every path of one experiment folder ``<logs_root>/<model_name>``."""

    root: Path
    model_name: str

    def __post_init__(self) -> None:
        check_model_name(self.model_name)

    @classmethod
    def of(cls, model_name: str, logs_dir: str | os.PathLike | None = None) -> "ExperimentPaths":
        return cls(logs_root(logs_dir) / model_name, model_name)

    @classmethod
    def at(cls, root: str | os.PathLike) -> "ExperimentPaths":
        """The experiment folder ``root`` (its name is the model name)."""
        return cls(Path(root), Path(root).name)

    @property
    def model_info(self) -> Path:
        return self.root / "model_info.json"

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def sliced(self) -> Path:
        return self.root / "sliced_audios"

    @property
    def sliced_16k(self) -> Path:
        return self.root / "sliced_audios_16k"

    @property
    def f0_coarse(self) -> Path:
        return self.root / "f0"

    @property
    def f0_hz(self) -> Path:
        return self.root / "f0_voiced"

    @property
    def features(self) -> Path:
        return self.root / "extracted"

    @property
    def filelist(self) -> Path:
        return self.root / "filelist.txt"

    @property
    def index(self) -> Path:
        return self.root / f"{self.model_name}.index"

    @property
    def eval_dir(self) -> Path:
        return self.root / "eval"

    def g_checkpoint(self, n: int) -> Path:
        return self.root / f"G_{n}.pth"

    def d_checkpoint(self, n: int) -> Path:
        return self.root / f"D_{n}.pth"

    def weights(self, epoch: int, step: int) -> Path:
        return self.root / f"{self.model_name}_{epoch}e_{step}s.pth"

    def train_state(self, n: int) -> Path:
        """Progress beside ``G_<n>``/``D_<n>`` (epoch, step, overtraining detector...)."""
        return self.root / f"train_state_{n}.json"

    def checkpoints(self) -> list[tuple[str, int]]:
        """``("G" | "D", epoch)`` of every training checkpoint file in the folder."""
        if not self.root.is_dir():
            return []
        found = (_CHECKPOINT_RE.match(p.name) for p in self.root.iterdir())
        return [(m.group(1), int(m.group(2))) for m in found if m]

    @property
    def final_weights(self) -> Path:
        """``<model>.pth``: the inference model of the finished run."""
        return self.root / f"{self.model_name}.pth"

    @property
    def mute(self) -> Path:
        return self.root / "mute"

    def mute_files(self, sample_rate: int) -> dict[str, Path]:
        """The silent chunk's wav, features, F0s and the settings they were made with."""
        return {"wav": self.mute / f"mute{sample_rate}.wav", "feat": self.mute / "extracted.npy",
                "f0": self.mute / "f0.npy", "f0_voiced": self.mute / "f0_voiced.npy",
                "settings": self.mute / "settings.json"}

    @property
    def eval_ranking(self) -> Path:
        return self.root / "eval_ranking"

    def index_files(self) -> list[Path]:
        """Every ``*.index`` in the folder (arvc's ``<model>.index`` or an Applio-named one), sorted."""
        return sorted(self.root.glob("*.index"))

    def saved_weights(self) -> list[tuple[int, int, Path]]:
        """``(epoch, step, path)`` of every ``*_<E>e_<S>s.pth`` (see :meth:`weights`), by epoch."""
        found = []
        for p in self.root.glob("*.pth"):
            m = WEIGHTS_NAME.match(p.name)
            if m:
                found.append((int(m["epoch"]), int(m["step"]), p))
        return sorted(found)
