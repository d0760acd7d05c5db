"""The settings of the stages (``preprocess``, ``extract``, ``create-index``, ``evaluate``, ranking, ``model-merge``,
``export-onnx``, ``quickstart``) as plain dataclasses.

Kept apart from the stages so that the option tables and the web UI read the defaults without importing torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from arvc.constants import F0_HOP, ONNX_OPSET


@dataclass
class PreprocessConfig:
    """Settings of ``arvc preprocess``; see the module docstring for what each does."""

    model_name: str
    dataset_path: str | os.PathLike | None = None  # default <datasets_root>/<model_name>
    sample_rate: int = 40000  # 32000 | 40000 | 48000
    cut_method: str = "Automatic"  # Automatic | Simple | Skip
    chunk_len: float = 3.0  # seconds
    overlap_len: float = 0.3  # seconds
    normalization: str = "none"  # none | pre | post
    process_effects: bool = False  # 48 Hz high-pass
    noise_reduction: bool = False
    clean_strength: float = 0.7  # 0..1, denoise attenuation
    cpu_cores: int | None = None  # processes; None = all cores, 1 = in-process
    logs_dir: str | os.PathLike | None = None
    min_chunk_len: float = 0.5  # seconds; shorter chunks are dropped
    progress: bool = True


@dataclass
class ExtractConfig:
    """Settings of ``arvc extract``."""

    model_name: str
    f0_method: str = "rmvpe"
    embedder_model: str = "contentvec"
    embedder_path: str | None = None  # folder / weight file for embedder_model "custom" (or a local copy)
    version: str = "v2"  # v1 (256-dim features) | v2 (768)
    sample_rate: int | None = None  # must match the preprocessed chunks when given
    hop_length: int = F0_HOP  # F0 analysis hop in 16 kHz samples
    f0_min: float = 50.0
    f0_max: float = 1100.0
    include_mutes: int = 2  # silent entries per speaker in filelist.txt
    cpu_cores: int | None = None  # F0 worker processes (None = all cores, 1 = in-process)
    gpu: str | None = None  # e.g. "0"; None = best available device
    embedder_layer: int | None = None
    embedders_mix: str | tuple | None = None  # "9,12,0.5"
    precision: str = "auto"  # embedder precision: auto (arvc.device.auto_precision) | fp32 | fp16 (GPU) | bf16
    shard: str | None = None  # "I/N": part I of N (no filelist); "auto": RANK/WORLD_SIZE; None: all + filelist
    logs_dir: str | os.PathLike | None = None
    progress: bool = True


@dataclass
class CreateIndexConfig:
    """Settings of ``arvc create-index``."""

    model_name: str
    version: str = "v2"  # v1 (256-dim features) | v2 (768-dim)
    algorithm: str = "Auto"  # Auto | Faiss | KMeans
    nprobe: int = 9  # stored in the file; inference may override
    seed: int = 20240
    logs_dir: str | os.PathLike | None = None
    output: str | os.PathLike | None = None  # default logs/<model>/<model>.index

    def __post_init__(self) -> None:
        check_range("--seed", self.seed, 0, 2 ** 32 - 1)
        check_range("--nprobe", self.nprobe, 1, 65536)


def check_range(flag: str, value, lo, hi) -> None:
    """ArvcError ``<flag> <value>: expected lo..hi`` unless ``lo <= value <= hi`` (NaN is never in range)."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and lo <= value <= hi):
        from arvc.errors import ArvcError

        raise ArvcError(f"{flag} {value}: expected {lo}..{hi}")

# the bundled demo voices of ``arvc quickstart``
ASSETS = Path(__file__).resolve().parents[2] / "assets" / "voices"


@dataclass
class EvaluateConfig:
    """What to score and where to write the results.

    ``inputs``: converted files or folders. ``references``: recordings of the target speaker.
    ``sources``: the unconverted inputs, matched to outputs by file stem. ``text``: transcripts, either a
    folder of ``<stem>.txt``, a file of ``stem|text`` lines, or a plain list of sentences where line N is
    picked by the trailing number of the stem (``kal_51`` → line 51). ``pitch``: semitones applied by the
    conversion (the source F0 is transposed by it before comparison).
    """

    inputs: list[Path]
    references: list[Path] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)
    text: Path | None = None
    pitch: float = 0.0
    output_dir: Path = Path("eval")
    f0_method: str = "fcpe"
    asr: bool = True
    mos: bool = True
    plots: bool = True


@dataclass
class RankConfig:
    """``model_dir``: an experiment folder (logs/<model>). ``clips``: audio converted with each epoch (default:
    three of the run's own 16 kHz chunks). ``references``: target-speaker audio (default: the run's chunks).
    ``text``/``pitch`` as in EvaluateConfig. ``f0_method``: for the conversions; ``score_f0_method`` for scoring.
    ``last``: score only the last N saved weights files (None: all)."""

    model_dir: Path
    clips: list[Path] = field(default_factory=list)
    references: list[Path] = field(default_factory=list)
    text: Path | None = None
    pitch: float = 0.0
    index: Path | None = None
    f0_method: str = "rmvpe"
    embedder_model: str | None = None
    embedder_path: str | None = None
    output_dir: Path | None = None
    score_f0_method: str = "fcpe"
    asr: bool = True
    mos: bool = True
    index_rate: float = 0.75
    last: int | None = None


@dataclass
class MergeConfig:
    """``model-merge`` settings: ``ratio`` is the weight of ``model_a`` (0..1)."""

    model_a: Path
    model_b: Path
    output: Path
    ratio: float = 0.5
    model_name: str | None = None
    author: str | None = None


@dataclass
class PretrainExportConfig:
    """``pretrain export``: the G/D pair of ``experiment`` (a logs/<model> folder) as a pretrain in ``output_dir``
    (default ``<models>/pretrains_local/<name>``); ``epoch`` None = the latest saved pair."""

    experiment: Path
    name: str | None = None
    output_dir: Path | None = None
    epoch: int | None = None
    dtype: str = "fp16"  # fp16 (as distributed) | fp32


@dataclass
class PretrainMergeConfig:
    """``pretrain merge``: ``ratio * A + (1 - ratio) * B`` for G and D; A and B are local pretrain names or folders."""

    pretrain_a: str
    pretrain_b: str
    name: str
    ratio: float = 0.5
    output_dir: Path | None = None


@dataclass
class OnnxExportConfig:
    """``export-onnx`` settings."""

    model: Path
    output: Path
    opset: int = ONNX_OPSET
    check: bool = True
    example_frames: int = 64


@dataclass
class QuickstartConfig:
    """Settings of ``arvc quickstart``; the defaults reproduce the README run."""

    model_name: str = "quickstart_slt"
    logs_dir: str | None = None
    output_dir: Path = Path("outputs/quickstart")
    voices: Path = ASSETS
    sample_rate: int = 32000
    train_minutes: float = 12.0  # wall-clock budget of the training run
    epochs: int = 2000  # upper bound; the time budget usually ends the run first
    batch_size: int = 4
    offline: bool = False  # don't try the hub at all
    from_scratch: bool = False  # no pretrain, even when one fits
    starter_pretrain: Path | None = None  # folder with the starter G.pth / D.pth (default: the shipped one)
    f0_method: str | None = None  # None: rmvpe if available, else fcpe
    embedder_model: str | None = None  # None: contentvec if available, else whisper-tiny.en
    pitch: float | None = None  # semitones; None: from the median F0 of source vs target
    index_rate: float = 0.5
    protect: float = 0.33
    cpu_cores: int | None = None
    seed: int = 1234
    rank_last: int = 4  # rank the last N saved epochs on held-out clips, convert with the best (< 2: the final one)
    save_every: int = 5  # epochs between saved weights files (the ranking's candidates)
