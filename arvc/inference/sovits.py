"""Conversion with so-vits-svc 4.0 / 4.1 voices through arvc's pipeline.

Everything around the model is the RVC pipeline's (input loading, high-pass, chunking, F0 method and pitch
options, index blend, volume envelope, silence gate, split, effects, output resampling). Per chunk, the
features are made the so-vits way: F0 (100 frames/s) gets its unvoiced gaps filled and is resampled to the
model's frames (``sample_rate / hop``, e.g. 86.1/s) with a voiced flag; the 50 Hz content units are optionally
blended with the index and the speaker's k-means centres, then stretched to the model's frames; 4.1 volume
models also get the per-frame loudness. The output of a chunk is cut to the length RVC's would have.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from arvc.constants import SR_16K
from arvc.errors import ArvcError
from arvc.inference.chunking import WINDOW
from arvc.inference.feature_frames import protect_features
from arvc.inference.pipeline import VoiceConverter
from arvc.inference.sovits_features import (
    cluster_blend,
    expand_units,
    fill_unvoiced,
    frame_volume,
    resample_track,
)
from arvc.library.voice_kind import is_sovits_voice

SOVITS_NOISE_SCALE = 0.4
F0_RATE = SR_16K / WINDOW  # 100 frames/s


@dataclass
class SovitsChunk:
    """Generator inputs of one chunk: units (T, C), f0 (T,) Hz filled, uv (T,), vol (T,) | None; ``samples``
    = output samples kept."""

    phone: torch.Tensor
    f0: torch.Tensor
    uv: torch.Tensor
    vol: torch.Tensor | None
    samples: int

    @property
    def frames(self) -> int:
        return int(self.phone.shape[0])


class SovitsConverter(VoiceConverter):
    """:class:`VoiceConverter` for a so-vits-svc voice (a folder, or ``G_*.pth`` with ``cfg.svc_config``)."""

    def _load_model(self, model_path) -> None:
        from arvc.formats.sovits import load_sovits_synthesizer, read_cluster_model

        self.synth, self.model = load_sovits_synthesizer(model_path, self.cfg.svc_config, device=self.device)
        self._prepare_synth()
        mc = self.model.config
        self.tgt_sr, self.hop, self.use_f0 = mc.sample_rate, mc.hop_length, True
        self.version = mc.embedder_version
        self.content_dim = mc.ssl_dim
        self.default_noise_scale = SOVITS_NOISE_SCALE
        speaker = self.cfg.speaker if self.cfg.speaker not in (None, "") else self.cfg.speaker_id
        self.sid = mc.speaker_id(speaker)
        if self.cfg.pitch_auto:
            raise ArvcError(f"--pitch auto: {model_path} is a so-vits voice, which records no median F0; give --pitch")
        self.centres = None
        cluster_path = self.cfg.cluster_model or (self.model.cluster_path if self.cfg.cluster_ratio > 0 else None)
        if self.cfg.cluster_ratio > 0 and not cluster_path:
            raise ArvcError(f"--cluster_ratio {self.cfg.cluster_ratio}: {model_path} has no k-means model "
                            "(kmeans*.pt); pass --cluster_model")
        if cluster_path and self.cfg.cluster_ratio > 0:
            self.centres = self._speaker_centres(read_cluster_model(cluster_path), cluster_path)

    def _load_retriever(self, index_path):
        """A FAISS ``.index``, or 4.1's ``feature_and_index.pkl`` (the speaker's own index is taken)."""
        from arvc.formats.sovits import read_feature_index
        from arvc.index import IndexRetriever

        if Path(index_path).suffix.lower() != ".pkl":
            return IndexRetriever.load(index_path, nprobe=self.cfg.nprobe)
        indexes = read_feature_index(index_path)
        if self.sid not in indexes:
            raise ArvcError(f"{index_path}: no feature index for speaker {self.sid} (it has {sorted(indexes)})")
        return IndexRetriever(indexes[self.sid], nprobe=self.cfg.nprobe)

    def _speaker_centres(self, clusters: dict[str, np.ndarray], path) -> np.ndarray:
        names = [n for n, i in self.model.config.speakers.items() if i == self.sid]
        key = next((n for n in names if n in clusters), None) or (str(self.sid) if str(self.sid) in clusters else None)
        if key is None:
            if len(clusters) != 1:
                raise ArvcError(f"--cluster_model {path}: no centres for speaker {names or self.sid} "
                                f"(it has {', '.join(list(clusters)[:10])})")
            key = next(iter(clusters))
        centres = clusters[key]
        if centres.shape[1] != self.content_dim:
            raise ArvcError(f"--cluster_model {path}: {centres.shape[1]}-dim centres, the model reads {self.content_dim}")
        return centres

    def chunk_inputs(self, audio: np.ndarray, pitch, pitchf: np.ndarray | None) -> SovitsChunk:
        """Features of one padded 16 kHz chunk (float (n,)) with its 100 Hz F0 slice ``pitchf`` (Hz)."""
        cfg = self.cfg
        samples = (len(audio) // WINDOW) * self.tgt_sr // int(F0_RATE)
        frames = max(1, math.ceil(samples / self.hop))
        x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).unsqueeze(0)
        feats0 = self.embedder.extract(x)[0].float().cpu().numpy()
        feats = feats0
        if self.retriever is not None and cfg.index_rate > 0:
            feats = self.retriever.blend(feats, cfg.index_rate)
        if self.centres is not None:
            feats = cluster_blend(feats, self.centres, cfg.cluster_ratio)
        f0_100, uv_100 = fill_unvoiced(pitchf[: len(audio) // WINDOW])
        f0 = resample_track(f0_100, F0_RATE, frames, self.model.config.frame_rate)
        uv = np.round(resample_track(uv_100, F0_RATE, frames, self.model.config.frame_rate))
        mode = self.model.config.unit_interpolate_mode
        phone = expand_units(torch.from_numpy(np.ascontiguousarray(feats)), frames, mode)
        if feats is not feats0 and cfg.protect < 0.5:
            phone = protect_features(phone, expand_units(torch.from_numpy(feats0), frames, mode),
                                     torch.from_numpy(uv), cfg.protect)
        vol = None
        if self.model.config.vol_embedding:
            vol = torch.from_numpy(frame_volume(audio, SR_16K, self.model.config.frame_rate, frames))
        return SovitsChunk(phone.contiguous(), torch.from_numpy(f0), torch.from_numpy(uv), vol, samples)

    def window_tail(self, audio: np.ndarray, pitchf: np.ndarray, frames: int, ret_frames: int) -> np.ndarray:
        """Realtime: output for the last ``ret_frames`` 10 ms frames of a ``frames``-frame window (``audio`` is the
        window plus a reflect pad); the whole window is synthesized on so-vits' own frame grid."""
        y = self.synthesize([self.chunk_inputs(audio, None, pitchf[:frames])])[0]
        end = frames * self.tgt_sr // int(F0_RATE)
        return y[end - ret_frames * self.tgt_sr // int(F0_RATE) : end]

    @torch.inference_mode()
    def synthesize(self, items: list[SovitsChunk]) -> list[np.ndarray]:
        """Generator on a batch of chunks (padded to the longest); ``(samples_i,)`` float32 each."""
        from arvc.device import autocast

        b, t_max = len(items), max(it.frames for it in items)
        phone = torch.zeros(b, t_max, items[0].phone.shape[1])
        f0, uv, vol = torch.zeros(b, t_max), torch.zeros(b, t_max), torch.zeros(b, t_max)
        lengths = torch.tensor([it.frames for it in items], dtype=torch.long)
        for i, it in enumerate(items):
            phone[i, : it.frames], f0[i, : it.frames], uv[i, : it.frames] = it.phone, it.f0, it.uv
            if it.vol is not None:
                vol[i, : it.frames] = it.vol
        dev = self.device
        sid = torch.full((b,), self.sid, dtype=torch.long, device=dev)
        with autocast(dev, self.precision):
            audio = self.synth.infer(phone.to(dev), f0.to(dev), uv.to(dev), sid, lengths=lengths.to(dev),
                                     vol=vol.to(dev) if items[0].vol is not None else None,
                                     noise_scale=self.noise_scale)[0]
        audio = audio.float().cpu().numpy()
        out = []
        for i, it in enumerate(items):
            y = audio[i, 0, : it.frames * self.hop][: it.samples]
            out.append(np.pad(y, (0, it.samples - len(y))))
        return out


def open_converter(model: str | Path, index: str | Path | None = None, config=None) -> VoiceConverter:
    """The converter for ``model`` (a path or a library voice name): so-vits-svc voices get
    :class:`SovitsConverter`, everything else the RVC one."""
    from arvc.library.models_dir import resolve_model_arg

    model, index = resolve_model_arg(model, index)
    svc_config = getattr(config, "svc_config", None)
    if is_sovits_voice(model, svc_config):
        if index is None:
            from arvc.formats.sovits import companions, find_voice_files

            path = Path(model)
            index = find_voice_files(path, svc_config).index if path.is_dir() else companions(path.parent)[1]
        return SovitsConverter(model, index, config)
    if getattr(config, "cluster_model", None) or getattr(config, "speaker", None) not in (None, ""):
        raise ArvcError(f"{model}: --cluster_model/--speaker apply to so-vits-svc voices (a folder with config.json, "
                        "or G_*.pth with --config)")
    return VoiceConverter(model, index, config)
