"""RVC inference, step for step as Applio 3.6.4's ``VoiceConverter`` (see fixtures/README).

16 kHz float64 input -> peak check -> 48 Hz high-pass -> reflect pad 1 s -> F0 once on the whole
padded signal -> shift / autotune / coarse -> chunks cut at quiet points (> 41 s inputs) -> per
chunk: content features, top-8 index blend, x2 frame repeat, protect -> synthesis (chunks batched,
padded, with lengths) -> trim 1 s each side -> concatenate -> volume envelope -> peak limit ->
optional output resampling.

Everything heavy (synthesizer, embedder, F0 network, index) is loaded once per
:class:`VoiceConverter` and reused for every file. Never imports ``arvc.training``.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from arvc.audio.dsp import highpass
from arvc.audio.io import audio_info, load_audio, resample, save_audio
from arvc.constants import SR_16K
from arvc.allocator import tune_cpu_allocator
from arvc.device import (autocast, decoder_tile_frames, decoder_weight_dtype, default_chunk_batch, resolve_precision,
                         select_device)
from arvc.errors import ArvcError
from arvc.features.embedders import load_embedder
from arvc.formats import load_synthesizer
from arvc.inference.chunking import WINDOW, Chunk, cut_points, plan_chunks
from arvc.inference.config import InferenceConfig
from arvc.inference.effects import apply_input_effects, apply_output_effects
from arvc.inference.envelope import mix_rms, peak_normalize
from arvc.inference.silence_gate import apply_silence_gate, check_output
from arvc.inference.feature_frames import protect_features, repeat_frames
from arvc.precision.amx_workaround import route_around_amx_conv_bug

log = logging.getLogger(__name__)

INPUT_PEAK = 0.95
OUTPUT_PEAK = 0.99
MIN_INPUT_SAMPLES = 1600  # 0.1 s at 16 kHz
RVC_NOISE_SCALE = 0.66666


@dataclass
class ChunkInputs:
    """Synthesizer inputs of one chunk: phone (p, C), pitch (p,) int64 | None, pitchf (p,) float32 | None."""

    phone: torch.Tensor
    pitch: torch.Tensor | None
    pitchf: torch.Tensor | None

    @property
    def frames(self) -> int:
        return int(self.phone.shape[0])


@dataclass
class StageTimes:
    """Wall seconds spent per stage (summed over files), for benchmarks."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, dt: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + dt


def prepare_input(audio16k: np.ndarray) -> np.ndarray:
    """Float64 mono 16 kHz; divided by ``max|x| / 0.95`` when that exceeds 1 (Applio's load step)."""
    x = np.asarray(audio16k, dtype=np.float64).reshape(-1)
    peak = np.abs(x).max() / INPUT_PEAK if len(x) else 0.0
    if peak > 1:
        x = x / peak
    return x


def load_input(path: str | os.PathLike) -> np.ndarray:
    """Decode ``path`` to mono float64 at 16 kHz as Applio does (soxr VHQ, then zero-padded or cut to
    ``ceil(N · 16000 / sr)`` samples like ``librosa.resample``)."""
    sr, _ = audio_info(path)
    x = load_audio(path, None, dtype=np.float64)
    if sr == SR_16K:
        return x
    n = int(math.ceil(len(x) * SR_16K / sr))
    y = resample(x, sr, SR_16K)
    if len(y) < n:
        y = np.pad(y, (0, n - len(y)))
    return np.ascontiguousarray(y[:n])


class VoiceConverter:
    """A voice model ready to convert audio: synthesizer + embedder + F0 method + optional index.

    Long inputs are processed chunk by chunk (at most ``batch_size`` chunks in flight). On CPU, set
    ``ONEDNN_PRIMITIVE_CACHE_CAPACITY`` to a few hundred (the ``infer`` CLI uses 256) before the first
    convolution: enough for the decoder's fixed tile shapes, without keeping kernels for every chunk length.
    """

    def __init__(self, model_path: str | os.PathLike, index_path: str | os.PathLike | None = None,
                 config: InferenceConfig | None = None):
        self.cfg = (config or InferenceConfig()).validate()
        self.device = select_device(self.cfg.gpu)
        tune_cpu_allocator(self.device)
        self.precision = resolve_precision(self.cfg.precision, self.device)
        self.batch_size = self.cfg.batch_size or default_chunk_batch(self.device)
        self.times = StageTimes()
        self.on_chunks = None  # callable(done, total) after each synthesized group of chunks (progress bars)
        t0 = time.perf_counter()
        self._load_model(model_path)
        self.int8 = self._choose_int8()
        self._load_embedder()
        self.f0_method = None
        if self.use_f0 and not self.cfg.f0_file:
            from arvc.features.f0 import F0Options, get_f0_method

            self.f0_method = get_f0_method(self.cfg.f0_method, F0Options(), device=self.device)
        self.retriever = None
        if index_path and self.cfg.index_rate > 0:
            self.retriever = self._load_retriever(index_path)
            if self.retriever.dim != self.content_dim:
                raise ArvcError(
                    f"{index_path}: index holds {self.retriever.dim}-dim features but the model reads "
                    f"{self.content_dim}-dim content features"
                )
        self.times.add("load", time.perf_counter() - t0)

    def _load_model(self, model_path) -> None:
        """Synthesizer, model file, rates and content width of an RVC model (subclasses load other families)."""
        self.synth, self.model = load_synthesizer(model_path, device=self.device)
        self._prepare_synth()
        mc = self.model.config
        self.tgt_sr = int(mc.sample_rate)
        self.hop = int(mc.hop_length)
        self.use_f0 = bool(mc.use_f0)
        self.version = mc.version
        self.content_dim = int(mc.content_dim)
        self.default_noise_scale = RVC_NOISE_SCALE
        if self.cfg.speaker_id >= int(mc.spk_embed_dim):
            raise ArvcError(f"--speaker_id {self.cfg.speaker_id}: {model_path} has {mc.spk_embed_dim} speaker(s)")
        if self.cfg.pitch_auto and not self.model.metadata.f0_median:
            raise ArvcError(f"--pitch auto: {model_path} does not record its training voice's median F0 "
                            "(models trained by arvc do); give --pitch in semitones")

    def _load_retriever(self, index_path):
        from arvc.index import IndexRetriever

        return IndexRetriever.load(index_path, nprobe=self.cfg.nprobe)

    def _prepare_synth(self) -> None:
        """Inference form of ``self.synth``: eval, weight norm folded (fp32), decoder dtype and tiles, noise."""
        self.synth.eval()
        if hasattr(self.synth, "remove_weight_norm"):
            self.synth.remove_weight_norm()  # fold g·v/||v|| once, in fp32
        route_around_amx_conv_bug(self.synth)
        dec_dtype = decoder_weight_dtype(self.device, self.precision)
        if dec_dtype is not None:
            self.synth.dec.to(dec_dtype)  # cast once: no per-call weight casts, bf16 activations end to end
        self.synth.decode_tile = decoder_tile_frames(self.device)
        if self.cfg.deterministic and hasattr(self.synth, "set_deterministic"):
            self.synth.set_deterministic(True)

    def _choose_int8(self):
        """Put the decoder's convolutions in int8 when ``--precision int8`` asks, or ``auto`` and the model's
        cached int8 self-check passes on this CPU (:mod:`arvc.inference.int8_check`). Returns the verdict of the
        check (None when it did not run); sets ``self.precision`` to ``"int8"`` when int8 runs."""
        from arvc.device import int8_candidate

        if not int8_candidate(self.cfg.precision, self.precision, self.device):
            return None
        from arvc.inference import int8_check
        from arvc.models.synthesizer import Synthesizer

        if not isinstance(self.synth, Synthesizer) or not hasattr(self.synth.dec, "resblocks"):
            if self.cfg.precision == "int8":
                raise ArvcError(f"--precision int8 covers RVC HiFi-GAN models; {self.model.path} is not one")
            return None
        verdict = None
        quantize = int8_check.quantize_decoder
        if self.cfg.int8_activations == "static":
            quantize = int8_check.static_quantizer(self.synth, getattr(self.model, "path", None))
        if self.cfg.precision == "auto":
            verdict = int8_check.int8_verdict(self.synth, quantize, tile=self.synth.decode_tile)
            if not verdict.ok:
                log.info("precision auto: %s", verdict.summary())
                return verdict
        quantize(self.synth.dec)
        self.precision = "int8"
        return verdict

    @property
    def noise_scale(self) -> float:
        """Prior temperature of this run: 0 when deterministic, else ``--noise_scale`` or the family's default."""
        if self.cfg.deterministic:
            return 0.0
        return self.default_noise_scale if self.cfg.noise_scale is None else float(self.cfg.noise_scale)

    def _load_embedder(self) -> None:
        stored = getattr(getattr(self.model, "metadata", None), "embedder_model", None)
        name = self.cfg.embedder_model or stored or "contentvec"
        if self.cfg.embedder_path and not self.cfg.embedder_model:
            name = "custom"
        elif not self.cfg.embedder_model and stored:  # a name from the file, not the command line: no paths
            from arvc.safe_paths import name_problem

            if name_problem(stored) and not (stored.count("/") == 1 and not stored.startswith((".", "/"))
                                             and ".." not in stored):
                raise ArvcError(f"{self.model.path}: embedder_model {stored[:60]!r} is not an embedder name; "
                                "pass --embedder_model")
        self.embedder_name = name
        if name == "custom" and not self.cfg.embedder_path:
            raise ArvcError("this model uses a custom embedder: pass its folder with --embedder_path")
        self.embedder = load_embedder(
            name, path=self.cfg.embedder_path, version=self.version, device=self.device,
            precision="int8" if self.precision == "int8" else self.cfg.precision,
        )
        if self.embedder.dim != self.content_dim:
            raise ArvcError(
                f"embedder {name} gives {self.embedder.dim}-dim features but the model expects {self.content_dim}"
            )

    # ----------------------------------------------------------------------------------- F0
    def pitch_track(self, padded: np.ndarray, p_len: int) -> tuple[np.ndarray, np.ndarray]:
        """(coarse int64 (p_len,), Hz float32 (p_len,)) for the t_pad-padded 16 kHz signal."""
        from arvc.features.f0.postprocess import autotune, coarse_f0, load_f0_file, median_smooth, shift_semitones

        cfg = self.cfg
        if cfg.f0_file:
            pad_frames = cfg.times.t_pad // WINDOW
            body = load_f0_file(cfg.f0_file, max(p_len - pad_frames, 0))
            f0 = np.concatenate([np.zeros(pad_frames, np.float32), body])[:p_len].astype(np.float32)
        else:
            f0 = self.f0_method.compute(padded.astype(np.float32), n_frames=p_len)
            if cfg.f0_method in ("harvest",) and cfg.filter_radius >= 3:
                f0 = median_smooth(f0, cfg.filter_radius)
            f0 = shift_semitones(f0, cfg.pitch + self.auto_semitones(f0))
        if cfg.f0_autotune:
            f0 = autotune(f0, cfg.f0_autotune_strength)
        return coarse_f0(f0), f0.astype(np.float32)

    def auto_semitones(self, f0: np.ndarray) -> float:
        """Extra transposition of ``--pitch auto`` (to the model's training median F0) or ``--proposed_pitch``."""
        from arvc.inference.autopitch import semitones_to

        cfg = self.cfg
        if cfg.pitch_auto:
            return semitones_to(f0, self.model.metadata.f0_median)
        if cfg.proposed_pitch:
            return semitones_to(f0, cfg.proposed_pitch_threshold, limit=12)
        return 0.0

    # ------------------------------------------------------------------------------ content
    def chunk_inputs(self, audio: np.ndarray, pitch: np.ndarray | None, pitchf: np.ndarray | None) -> ChunkInputs:
        """Features for one padded chunk (float32 (n,)), with the F0 frames sliced for it."""
        feats, feats0 = self.content_features(audio)
        p = min(len(audio) // WINDOW, 2 * feats.shape[0])
        return self.frame_inputs(feats, feats0, pitch, pitchf, p)

    def content_features(self, audio: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(index-blended, raw) content features of 16 kHz ``audio`` (n,): (T, C) float32 each at 50 frames/s
        (one per 20 ms frame, :func:`arvc.features.embedders.n_frames`); the same tensor twice without an index."""
        x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).unsqueeze(0)
        feats0 = self.embedder.extract(x)[0].float().cpu()  # (n, C)
        feats = feats0
        if self.retriever is not None and self.cfg.index_rate > 0:
            feats = torch.from_numpy(self.retriever.blend(feats0.numpy(), self.cfg.index_rate))
        return feats, feats0

    def frame_inputs(self, feats: torch.Tensor, feats0: torch.Tensor, pitch: np.ndarray | None,
                     pitchf: np.ndarray | None, p: int) -> ChunkInputs:
        """Synthesizer inputs of ``p`` 10 ms frames from 50 frames/s features (T, C) (``p <= 2T``): every frame
        twice, the F0 frames cut to the same length, consonant protection (``protect < 0.5``)."""
        if pitch is not None:
            p = min(p, len(pitch))
        feats = repeat_frames(feats)[:p]
        pt = pf = None
        if self.use_f0:
            pt = torch.from_numpy(np.ascontiguousarray(pitch[:p], dtype=np.int64))
            pf = torch.from_numpy(np.ascontiguousarray(pitchf[:p], dtype=np.float32))
            if self.cfg.protect < 0.5:
                feats = protect_features(feats, repeat_frames(feats0)[:p], pf, self.cfg.protect)
        return ChunkInputs(feats.contiguous(), pt, pf)

    # ---------------------------------------------------------------------------- synthesis
    @torch.inference_mode()
    def synthesize(self, items: list[ChunkInputs]) -> list[np.ndarray]:
        """Run the synthesizer on a batch of chunks (padded to the longest); (p_i · hop,) float32 each."""
        b = len(items)
        t_max = max(it.frames for it in items)
        c = items[0].phone.shape[1]
        phone = torch.zeros(b, t_max, c)
        lengths = torch.tensor([it.frames for it in items], dtype=torch.long)
        pitch = torch.zeros(b, t_max, dtype=torch.long) if self.use_f0 else None
        pitchf = torch.zeros(b, t_max) if self.use_f0 else None
        for i, it in enumerate(items):
            phone[i, : it.frames] = it.phone
            if self.use_f0:
                pitch[i, : it.frames] = it.pitch
                pitchf[i, : it.frames] = it.pitchf
        dev = self.device
        sid = torch.full((b,), self.cfg.speaker_id, dtype=torch.long, device=dev)
        with autocast(dev, self.precision):
            audio = self.synth.infer(
                phone.to(dev), lengths.to(dev),
                pitch.to(dev) if pitch is not None else None,
                pitchf.to(dev) if pitchf is not None else None,
                sid, noise_scale=self.noise_scale,
            )[0]
        audio = audio.float().cpu().numpy()
        return [audio[i, 0, : it.frames * self.hop] for i, it in enumerate(items)]

    # ------------------------------------------------------------------------------ whole path
    def convert(self, audio16k: np.ndarray) -> np.ndarray:
        """16 kHz mono input -> float32 output at the model rate (before ``resample_sr``)."""
        cfg = self.cfg
        if cfg.seed is not None:
            torch.manual_seed(cfg.seed)
        x = prepare_input(audio16k)
        if len(x) < MIN_INPUT_SAMPLES:
            raise ArvcError(f"input is too short ({len(x) / SR_16K:.3f} s; at least 0.1 s is needed)")
        t0 = time.perf_counter()
        hp = highpass(x, SR_16K)
        points = cut_points(hp, cfg.times)
        padded = np.pad(hp, (cfg.times.t_pad, cfg.times.t_pad), mode="reflect")
        p_len = len(padded) // WINDOW
        pitch = pitchf = None
        self.times.add("prepare", time.perf_counter() - t0)
        if self.use_f0:
            t0 = time.perf_counter()
            pitch, pitchf = self.pitch_track(padded, p_len)
            self.times.add("f0", time.perf_counter() - t0)
        chunks = plan_chunks(len(hp), points, cfg.times)
        trim = self.tgt_sr * cfg.times.t_pad // SR_16K
        pieces: list[np.ndarray] = []
        for start in range(0, len(chunks), self.batch_size):
            group = chunks[start : start + self.batch_size]
            t0 = time.perf_counter()
            items = [self._inputs_of(ch, padded, pitch, pitchf) for ch in group]
            self.times.add("embed+index", time.perf_counter() - t0)
            t0 = time.perf_counter()
            for y in self.synthesize(items):
                pieces.append(y[trim : len(y) - trim] if len(y) > 2 * trim else y[:0])
            self.times.add("synthesize", time.perf_counter() - t0)
            if self.on_chunks is not None:
                self.on_chunks(min(start + self.batch_size, len(chunks)), len(chunks))
        t0 = time.perf_counter()
        out = np.concatenate(pieces).astype(np.float32)
        del pieces, padded
        if cfg.rms_mix_rate < 1 and len(out):
            out = mix_rms(hp, SR_16K, out, self.tgt_sr, cfg.rms_mix_rate)
        out = apply_silence_gate(hp, SR_16K, out, self.tgt_sr, cfg.silence_gate_db)
        out = peak_normalize(out, OUTPUT_PEAK)
        self.times.add("envelope", time.perf_counter() - t0)
        return out

    def _inputs_of(self, ch: Chunk, padded: np.ndarray, pitch, pitchf) -> ChunkInputs:
        seg = padded[ch.start : ch.end]
        if pitch is not None:
            pitch = pitch[ch.frame_start : ch.frame_end]
            pitchf = pitchf[ch.frame_start : ch.frame_end]
        return self.chunk_inputs(seg, pitch, pitchf)

    @property
    def output_sr(self) -> int:
        return self.cfg.resample_sr or self.tgt_sr

    def convert_audio(self, audio16k: np.ndarray) -> tuple[np.ndarray, int]:
        """Full conversion including ``split_audio`` and ``resample_sr``: (float32 audio, sample rate)."""
        audio16k = apply_input_effects(audio16k, self.cfg.effects)
        if self.cfg.split_audio:
            from arvc.inference.split import convert_split

            out = convert_split(self, prepare_input(audio16k))
        else:
            out = self.convert(audio16k)
        if self.cfg.resample_sr and self.cfg.resample_sr != self.tgt_sr:
            t0 = time.perf_counter()
            out = resample(out.astype(np.float32), self.tgt_sr, self.cfg.resample_sr).astype(np.float32)
            self.times.add("resample", time.perf_counter() - t0)
        if self.cfg.effects.any_output:
            t0 = time.perf_counter()
            out = apply_output_effects(out, self.output_sr, self.cfg.effects)
            self.times.add("effects", time.perf_counter() - t0)
        return out, self.output_sr

    def convert_file(self, input_path: str | os.PathLike, output_path: str | os.PathLike) -> Path:
        """Read any audio file, convert it, write it atomically in ``cfg.export_format``."""
        t0 = time.perf_counter()
        audio = load_input(input_path)
        self.times.add("load_audio", time.perf_counter() - t0)
        try:
            out, sr = self.convert_audio(audio)
        except ArvcError as e:
            raise ArvcError(f"{input_path}: {e}") from e
        check_output(out, str(input_path))
        t0 = time.perf_counter()
        path = save_audio(output_path, out, sr, self.cfg.export_format, subtype=self.cfg.wav_subtype)
        self.times.add("write", time.perf_counter() - t0)
        return path
