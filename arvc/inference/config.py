"""Settings of one conversion run (``arvc infer``), as a typed dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field

from arvc.errors import ArvcError
from arvc.inference.chunking import ChunkTimes
from arvc.inference.effects import EffectsConfig

EXPORT_FORMATS = ("wav", "flac", "mp3", "ogg")


@dataclass
class InferenceConfig:
    """What ``arvc infer`` does to each input; defaults are RVC's / Applio's.

    pitch: transpose in semitones (+12 = one octave up; male -> female is usually +12).
    f0_method: pitch estimator (rmvpe is RVC's default and the most robust; crepe, crepe-tiny, fcpe, harvest, ...).
    index_rate: 0..1, how much of each content frame comes from the index's nearest training frames.
    filter_radius: median filter radius for harvest's F0 (>= 3 enables it; other methods ignore it, as in RVC).
    rms_mix_rate: 0..1 volume envelope; 1 keeps the model's loudness, 0 follows the input's.
    protect: 0..0.5; mixes pre-index features back on unvoiced frames (0.5 = off) to protect consonants and breaths.
    hop_length: accepted for Applio compatibility and unused (F0 frames are always 10 ms).
    resample_sr: output rate (0 = the model's rate).
    batch_size: chunks of one long file synthesized together (None: 1 on the CPU, 4 on a GPU).
    precision: auto (fp16 on a CUDA GPU, bf16 on AMX CPUs, else int8 where the model's cached int8 self-check passes
    on this CPU, else fp32; arvc.device), fp32, fp16, bf16 or int8 (CPU).
    int8_activations: how int8 convs quantize their input: dynamic (each call's own range) or static (ranges
        calibrated once per model, from its training features beside it or a generated set; int8_calibration).
    noise_scale: prior sampling temperature of the synthesizer (None: the model family's, RVC 0.66666, so-vits 0.4).
    seed: fixes the synthesizer's random noise for reproducible output (None = random).
    pitch_auto: transpose the source's median F0 to the training voice's (``f0_median`` in the model), plus ``pitch``.
    proposed_pitch: Applio's: transpose the source's median F0 towards ``proposed_pitch_threshold`` Hz
        (whole semitones, at most 12), plus ``pitch``.
    effects: formant shifting, cleaning and post-processing (:mod:`arvc.inference.effects`).
    deterministic: no random draws at all (prior mean, NSF source without random phase or noise), the
        convention of the Applio parity fixtures; output is then a pure function of the input.
    svc_config: a so-vits-svc voice's config.json, when ``-m`` is its G_*.pth (a voice folder holds its own).
    speaker: so-vits-svc speaker name or id (from the config's ``spk`` map); None = ``speaker_id``.
    cluster_model: so-vits-svc k-means file (kmeans*.pt); a voice folder's own is used when ``cluster_ratio`` > 0.
    cluster_ratio: 0..1, how far each content frame moves to its nearest k-means centre (so-vits' cluster ratio).
    silence_gate_db: output is muted (10 ms fades) where the input stays below this RMS level for 0.1 s or
        more (None = off, RVC's behaviour: pauses come out as low noise).
    """

    pitch: float = 0.0
    f0_method: str = "rmvpe"
    index_rate: float = 0.75
    filter_radius: int = 3
    rms_mix_rate: float = 1.0
    protect: float = 0.5
    hop_length: int = 128
    f0_autotune: bool = False
    f0_autotune_strength: float = 1.0
    f0_file: str | None = None
    embedder_model: str | None = None
    embedder_path: str | None = None
    speaker_id: int = 0
    resample_sr: int = 0
    export_format: str = "wav"
    wav_subtype: str | None = None  # e.g. FLOAT for an unquantised WAV; default PCM_16
    split_audio: bool = False
    precision: str = "auto"
    int8_activations: str = "dynamic"
    gpu: str | None = None
    batch_size: int | None = None
    nprobe: int | None = None
    noise_scale: float | None = None
    seed: int | None = None
    deterministic: bool = False
    silence_gate_db: float | None = -60.0  # mute output where the input is below this (dBFS); None = off
    times: ChunkTimes = ChunkTimes()
    pitch_auto: bool = False
    proposed_pitch: bool = False
    proposed_pitch_threshold: float = 155.0
    effects: EffectsConfig = field(default_factory=EffectsConfig)
    svc_config: str | None = None
    speaker: str | None = None
    cluster_model: str | None = None
    cluster_ratio: float = 0.0

    def validate(self) -> "InferenceConfig":
        checks = [
            (0.0 <= self.index_rate <= 1.0, f"--index_rate must be between 0 and 1, got {self.index_rate}"),
            (0.0 <= self.rms_mix_rate <= 1.0, f"--rms_mix_rate must be between 0 and 1, got {self.rms_mix_rate}"),
            (0.0 <= self.protect <= 0.5, f"--protect must be between 0 and 0.5, got {self.protect}"),
            (0.0 <= self.f0_autotune_strength <= 1.0, f"--f0_autotune_strength must be between 0 and 1, got {self.f0_autotune_strength}"),
            (-48 <= self.pitch <= 48, f"--pitch must be between -48 and 48 semitones, got {self.pitch}"),
            (self.filter_radius >= 0, f"--filter_radius must be >= 0, got {self.filter_radius}"),
            (self.batch_size is None or self.batch_size >= 1, f"--batch_size must be >= 1, got {self.batch_size}"),
            (self.resample_sr == 0 or 8000 <= self.resample_sr <= 192000, f"--resample_sr must be 0 or 8000..192000, got {self.resample_sr}"),
            (self.export_format in EXPORT_FORMATS, f"--format {self.export_format!r}: choices are {', '.join(EXPORT_FORMATS)}"),
            (self.precision in ("auto", "fp32", "fp16", "bf16", "int8"),
             f"--precision {self.precision!r}: choices are auto, fp32, fp16, bf16, int8"),
            (self.int8_activations in ("dynamic", "static"),
             f"--int8_activations {self.int8_activations!r}: choices are dynamic, static"),
            (self.speaker_id >= 0, f"--speaker_id must be >= 0, got {self.speaker_id}"),
            (self.nprobe is None or self.nprobe >= 1, f"--nprobe must be >= 1, got {self.nprobe}"),
            (self.proposed_pitch_threshold > 0,
             f"--proposed_pitch_threshold must be > 0 Hz, got {self.proposed_pitch_threshold}"),
            (0.0 <= self.effects.clean_strength <= 1.0,
             f"--clean_strength must be between 0 and 1, got {self.effects.clean_strength}"),
            (0.0 <= self.cluster_ratio <= 1.0, f"--cluster_ratio must be between 0 and 1, got {self.cluster_ratio}"),
            (self.noise_scale is None or 0.0 <= self.noise_scale <= 2.0,
             f"--noise_scale must be between 0 and 2, got {self.noise_scale}"),
            (self.silence_gate_db is None or -120 <= self.silence_gate_db <= 0,
             f"--silence_gate_db must be between -120 and 0 dBFS or off, got {self.silence_gate_db}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ArvcError(msg)
        return self
