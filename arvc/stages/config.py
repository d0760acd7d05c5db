"""The settings of the data stages (``preprocess``, ``extract``, ``create-index``) as plain dataclasses.

Kept apart from the stages so that the option tables and the web UI read the defaults without importing torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from arvc.constants import F0_HOP


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
