"""The training set over an experiment's extracted files (filelist.txt lines ``wav|feat|f0|f0_voiced|sid``).

Each item is aligned as RVC does: content features (50 fps) are repeated ×2 to 100 fps and cut to
``max_frames``; the linear spectrogram of the target-rate wav has ``len(wav) // hop`` frames; every
stream is cut to the smallest frame count and the wav to ``frames * hop`` samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from arvc.audio.io import audio_info, load_audio
from arvc.audio.spectrogram import spectrogram
from arvc.errors import ArvcError
from arvc.experiment import FileEntry

MAX_FRAMES = 900  # RVC's cap on frames per item (9 s at 100 fps)


@dataclass
class Item:
    """One aligned example: ``phone (T, C)``, ``pitch (T,) long``, ``pitchf (T,)``, ``spec (F, T)``, ``wav (T*hop,)``."""

    phone: torch.Tensor
    pitch: torch.Tensor | None
    pitchf: torch.Tensor | None
    spec: torch.Tensor
    wav: torch.Tensor
    sid: int

    @property
    def frames(self) -> int:
        return self.spec.shape[-1]

    def to(self, device: torch.device | str) -> "Item":
        mv = lambda t: None if t is None else t.to(device)  # noqa: E731
        return Item(mv(self.phone), mv(self.pitch), mv(self.pitchf), mv(self.spec), mv(self.wav), self.sid)


class TrainingDataset(torch.utils.data.Dataset):
    """Items of one experiment. ``spec_channels`` / ``hop`` come from the model config."""

    def __init__(self, entries: list[FileEntry], *, sample_rate: int, hop: int, spec_channels: int,
                 content_dim: int, use_f0: bool = True, max_frames: int = MAX_FRAMES):
        self.entries = entries
        self.sample_rate = sample_rate
        self.hop = hop
        self.n_fft = (spec_channels - 1) * 2
        self.content_dim = content_dim
        self.use_f0 = use_f0
        self.max_frames = max_frames
        self._lengths: list[int] | None = None

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def speakers(self) -> list[int]:
        return sorted({e.sid for e in self.entries})

    def lengths(self) -> list[int]:
        """Approximate frame count of every item (from the feature files' headers), for bucketing."""
        if self._lengths is None:
            out = []
            for e in self.entries:
                feat = np.load(e.feat, mmap_mode="r", allow_pickle=False)
                out.append(min(2 * feat.shape[0], self.max_frames))
            self._lengths = out
        return self._lengths

    def __getitem__(self, index: int) -> Item:
        e = self.entries[index]
        phone = self._load(e.feat, np.float32)
        if phone.ndim != 2 or phone.shape[1] != self.content_dim:
            raise ArvcError(f"{e.feat}: features of shape {phone.shape}, expected (frames, {self.content_dim}); "
                            "was it extracted for another model version?")
        phone = np.repeat(phone, 2, axis=0)
        frames = min(phone.shape[0], self.max_frames)
        pitch = pitchf = None
        if self.use_f0:
            if e.f0 is None or e.f0_hz is None:
                raise ArvcError(f"{e.wav}: no pitch files in the filelist, but the model uses F0")
            pitch = self._load(e.f0, np.int64)
            pitchf = self._load(e.f0_hz, np.float32)
            frames = min(frames, pitch.shape[0], pitchf.shape[0])
        sr, _ = audio_info(e.wav)
        if sr != self.sample_rate:
            raise ArvcError(f"{e.wav}: sample rate {sr} Hz, the model is {self.sample_rate} Hz; "
                            "preprocess again at the model rate")
        wav_t = torch.from_numpy(load_audio(e.wav, dtype=np.float32))
        spec = spectrogram(wav_t, self.n_fft, self.hop, self.n_fft)
        frames = min(frames, spec.shape[-1])
        if frames < 1:
            raise ArvcError(f"{e.wav}: too short to train on")
        return Item(
            phone=torch.from_numpy(np.ascontiguousarray(phone[:frames])),
            pitch=None if pitch is None else torch.from_numpy(np.ascontiguousarray(pitch[:frames])).clamp_(1, 255),
            pitchf=None if pitchf is None else torch.from_numpy(np.ascontiguousarray(pitchf[:frames])),
            spec=spec[:, :frames].contiguous(),
            wav=wav_t[: frames * self.hop].contiguous(),
            sid=e.sid,
        )

    @staticmethod
    def _load(path: Path, dtype) -> np.ndarray:
        try:
            return np.load(path, allow_pickle=False).astype(dtype, copy=False)
        except (OSError, ValueError) as err:
            raise ArvcError(f"{path}: cannot read ({err})") from None


class CachedDataset(torch.utils.data.Dataset):
    """Every item of ``dataset`` loaded once and kept on ``device`` (``--cache_data_in_gpu``)."""

    def __init__(self, dataset: TrainingDataset, device: torch.device | str):
        self.items = [dataset[i].to(device) for i in range(len(dataset))]
        self._lengths = [it.frames for it in self.items]
        self.speakers = dataset.speakers

    def __len__(self) -> int:
        return len(self.items)

    def lengths(self) -> list[int]:
        return self._lengths

    def __getitem__(self, index: int) -> Item:
        return self.items[index]
