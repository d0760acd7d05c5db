"""The option tables of the conversion and data commands (infer, tts, cover, realtime, preprocess, extract,
create-index): argparse flags, the Applio spellings and the web UI's controls are all built from these.

An :class:`~arvc.api.optionspec.Option` names its flags, type, range, choices, help text and group; its default
is read from the typed config dataclass field it fills (``field``) unless the option gives its own. Adding an
option is one entry here (plus the config field): ``arvc <command> --help`` and the UI's tab both show it.
``train``'s table is :mod:`arvc.api.options_train`, the tools' :mod:`arvc.api.options_tools`; every command's
table is found through :mod:`arvc.api.tables`.

Importing this module imports no torch (the config dataclasses are plain).
"""

from __future__ import annotations

import dataclasses

from arvc.api.argtypes import gate_db, pitch_value, shard_spec
from arvc.api.optionspec import CommandOptions, Option, opt
from arvc.constants import SAMPLE_RATES, VERSIONS
from arvc.inference.config import EXPORT_FORMATS, InferenceConfig
from arvc.inference.effects import POST_EFFECTS
from arvc.inference.realtime_config import RealtimeConfig
from arvc.library.voice_kind import SOVITS
from arvc.stages.config import CreateIndexConfig, ExtractConfig, PreprocessConfig
from arvc.stages.cover import CoverRun
from arvc.stages.tts import TtsRun

__all__ = ["CommandOptions", "Option", "opt"]

_o = opt
SEED_RANGE = (0, 2**32 - 1)
PITCH_RANGE = (-48, 48)  # semitones (InferenceConfig checks the same)

F0_METHODS = ("rmvpe", "crepe", "crepe-tiny", "fcpe", "harvest", "dio", "pm", "yin", "pyin", "piptrack", "swipe",
              "rapt", "swift", "pesto", "penn", "djcm", "fusion")
EMBEDDERS = ("contentvec", "hubert_base", "chinese-hubert-base", "japanese-hubert-base", "japanese-hubert-large",
             "korean-hubert-base", "spin", "spin-v2", "whisper-tiny.en", "custom")
OPTIMIZERS = ("AdamW", "RAdam", "AdaBelief", "AdaBeliefV2", "AnyPrecisionAdamW")
CUT_METHODS = ("Automatic", "Simple", "Skip")
NORMALIZATIONS = ("none", "pre", "post")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
INFER_PRECISIONS = (*PRECISIONS, "int8")  # conversion only (CPU int8: arvc.device.int8_candidate)

# the pedalboard parameters' ranges (Applio's sliders)
EFFECT_RANGES = {
    "reverb_room_size": (0, 1), "reverb_damping": (0, 1), "reverb_wet_gain": (0, 1), "reverb_dry_gain": (0, 1),
    "reverb_width": (0, 1), "reverb_freeze_mode": (0, 1), "pitch_shift_semitones": (-24, 24),
    "limiter_threshold": (-60, 0), "limiter_release_time": (0.01, 1000), "gain_db": (-60, 60),
    "distortion_gain": (0, 100), "chorus_rate": (0, 100), "chorus_depth": (0, 1), "chorus_center_delay": (0, 100),
    "chorus_feedback": (-1, 1), "chorus_mix": (0, 1), "bitcrush_bit_depth": (1, 32), "clipping_threshold": (-60, 0),
    "compressor_threshold": (-60, 0), "compressor_ratio": (1, 100), "compressor_attack": (0, 1000),
    "compressor_release": (0, 5000), "delay_seconds": (0, 5), "delay_feedback": (0, 1), "delay_mix": (0, 1),
}


LOGS_DIR = _o("--logs_dir", help="root of experiment folders (default $ARVC_LOGS_DIR or ./logs)", group="paths", ui=False)
PROGRESS = _o("--progress", type=bool, help="show a progress bar", ui=False)

def _effect_options() -> tuple[Option, ...]:
    """Applio's conversion extras: formant shift, cleaning, the pedalboard chain (one switch + parameters each)."""
    fx = [
        _o("--formant_shifting", type=bool, field=None, group="effects", ui="advanced",
           help="shift the input's formants (stftpitchshift) before conversion"),
        _o("--formant_qfrency", type=float, default=1.0, range=(0.1, 16), field=None, group="effects", ui="advanced",
           help="formant lifter quefrency in ms (default 1.0)"),
        _o("--formant_timbre", type=float, default=1.0, range=(0.1, 16), field=None, group="effects", ui="advanced",
           help="formant frequency factor: > 1 brighter / smaller, < 1 darker / bigger (default 1.0)"),
        _o("--clean_audio", type=bool, field=None, group="effects", ui="advanced",
           help="reduce noise in the output (noisereduce spectral gating)"),
        _o("--clean_strength", type=float, default=0.7, range=(0, 1), field=None, group="effects", ui="advanced",
           help="cleaning strength 0..1 (default 0.7)"),
        _o("--post_process", type=bool, field=None, group="effects", ui="advanced",
           help="apply the enabled pedalboard effects below to the output"),
    ]
    for effect in map(POST_EFFECTS.get, POST_EFFECTS.names()):
        fx.append(_o(f"--{effect.name}", type=bool, field=None, group="effects", ui="advanced",
                     help=f"post-process: {effect.help}"))
        fx += [_o(f"--{name}", type=type(default), default=default, range=EFFECT_RANGES.get(name), field=None,
                  group="effects", ui="advanced",
                  help=f"(default {default})") for name, default in effect.params.items()]
    return tuple(fx)


# so-vits-svc voices (issue 28): their own entries, spliced into INFER's and REALTIME's tables below; the web UI
# shows the speaker, cluster ratio and noise scale only while a so-vits voice is chosen (family=SOVITS).
SVC_INFER_OPTIONS = (
    _o("--config", field="svc_config", group="so-vits-svc", ui=False,
       help="so-vits-svc config.json, when -m is a G_*.pth (a voice folder, or config.json beside it, needs none)"),
    _o("--speaker", group="so-vits-svc", family=SOVITS, widget="choices",
       help="so-vits-svc speaker name or id (from the config's spk map)"),
    _o("--cluster_model", group="so-vits-svc", ui=False,
       help="so-vits-svc k-means model (kmeans*.pt); a voice folder's own is used when --cluster_ratio > 0"),
    _o("--cluster_ratio", type=float, range=(0, 1), group="so-vits-svc", family=SOVITS, ui="advanced",
       help="0..1, how far content frames move to their nearest k-means centre (so-vits-svc; default 0)"),
    _o("--noise_scale", type=float, range=(0, 2), family=SOVITS, ui="advanced",
       help="prior sampling temperature (default: RVC 0.66666, so-vits-svc 0.4)"),
)

INFER = CommandOptions("infer", config=InferenceConfig, options=(
    _o("-m", "--model", required=True, field=None, applio=("pth_path",), ui=False,
       help="voice model: RVC/Applio .pth, a so-vits-svc voice folder / G_*.pth, or a library voice name"),
    _o("--index", field=None, help="retrieval index (.index) of the model; omit to skip retrieval", ui=False),
    _o("-i", "--input", nargs="+", required=True, field=None, applio=("input_path", "input_folder"), help="audio file(s) and/or folder(s) to convert", ui=False),
    _o("-o", "--output", field=None, ui=False, applio=("output_path", "output_folder"),
       help="output file (one input) or folder (folder inputs keep their sub-folders); default <name>_converted "
            "beside the input"),
    _o("--pitch", type=float, range=PITCH_RANGE, parse=pitch_value,
       help="transpose in semitones (+12 = one octave up), or 'auto': to the model's training voice"),
    _o("--f0_method", label="pitch method", choices=F0_METHODS + ("hybrid[rmvpe+crepe]", "hybrid[harvest+pm]"),
       strict=False,
       help="pitch estimator: rmvpe (default, RVC's), crepe, crepe-tiny, fcpe, harvest, dio, pm, yin, pyin, swipe, "
            "rapt, swift, pesto, penn (FCNF0++), djcm, fusion (fcpe + swift fused, voicing checked on the signal), "
            "hybrid[a+b] (candidates fused by confidence)"),
    _o("--index_rate", type=float, range=(0, 1),
       help="0..1, share of each feature frame taken from the index's nearest training frames (default 0.75)"),
    _o("--nprobe", type=int, range=(1, None), help="IVF lists searched per query (default: the value stored in the index)", ui="advanced"),
    _o("--filter_radius", type=int, range=(0, 7), help="median filter radius for harvest F0 (>= 3 enables it)"),
    _o("--rms_mix_rate", "--volume_envelope", type=float, range=(0, 1),
       help="0..1: 1 keeps the model's loudness, 0 follows the input's volume envelope (default 1)"),
    _o("--protect", type=float, range=(0, 0.5),
       help="0..0.5: protect consonants/breaths by keeping pre-index features on unvoiced frames (0.5 = off)"),
    _o("--hop_length", type=int, range=(1, 512), help="accepted for Applio compatibility; F0 frames are always 10 ms", ui="advanced"),
    _o("--f0_autotune", type=bool, help="snap the pitch to the nearest semitone"),
    _o("--f0_autotune_strength", type=float, range=(0, 1), help="0..1, how hard autotune snaps"),
    _o("--f0_file", help="F0 curve file (lines 'seconds,hz') used instead of an F0 method", ui="advanced"),
    _o("--embedder_model", choices=EMBEDDERS, strict=False,
       help="content embedder: contentvec, hubert_base, custom, a hub id, ... (default: the one "
                                "recorded in the model, else contentvec)"),
    _o("--embedder_path", applio=("embedder_model_custom",), help="local embedder folder (for --embedder_model custom)"),
    _o("--speaker_id", "--sid", type=int, range=(0, None), help="speaker row of multi-speaker models"),
    _o("--resample_sr", type=int, range=(0, 192000), help="output sample rate (0 = the model's rate)"),
    _o("--format", "--export_format", choices=EXPORT_FORMATS, case_insensitive=True, default=None, field=None,
       help="output format (default: the output file's suffix, else wav)"),
    _o("--wav_subtype", help="soundfile subtype for wav/flac, e.g. PCM_24 or FLOAT (default PCM_16)", ui="advanced"),
    _o("--split_audio", type=bool, help="convert each stretch of speech separately, keeping silences silent"),
    _o("--precision", choices=INFER_PRECISIONS,
       help="compute precision (default auto: fp16 on a CUDA GPU, bf16 on AMX CPUs whose bf16 checks out, else int8 "
            "where the model's cached int8 self-check passes on this CPU, else fp32; int8 forces it, fp32 forbids it)"),
    _o("--int8_activations", choices=("dynamic", "static"), ui="advanced",
       help="int8 only: quantize each conv's input by its own range per call (dynamic, default) or by ranges "
            "calibrated once per model from its training features (static; no faster here, slightly worse)"),
    _o("--gpu", help="GPU id (e.g. 0); default: first accelerator, else CPU", ui="advanced"),
    _o("--batch_size", type=int, range=(1, None), help="chunks of a long file synthesized together (default: 1 on the CPU, 4 on a GPU)",
       ui="advanced"),
    _o("--seed", type=int, range=SEED_RANGE, help="fix the synthesizer's noise for reproducible output"),
    _o("--deterministic", type=bool,
       help="no random noise at all (prior mean, noiseless NSF source); Applio-parity mode", ui="advanced"),
    _o("--silence_gate_db", type=float, range=(-120, 0), parse=gate_db, widget="text",
       help="mute the output where the input stays below this RMS level (dBFS) for 0.1 s or more; 'off' keeps "
            "RVC's output as is (default -60)"),
    _o("--proposed_pitch", type=bool, group="pitch helpers", ui="advanced",
       help="transpose the source towards --proposed_pitch_threshold (Applio's)"),
    _o("--proposed_pitch_threshold", type=float, range=(20, 2000), group="pitch helpers", ui="advanced",
       help="target median F0 in Hz of --proposed_pitch (155 male, 255 female; default 155)"),
    *SVC_INFER_OPTIONS,
    *_effect_options(),
    _o("--skip_existing", type=bool, field=None, ui=False, help="leave inputs whose output file already exists alone"),
    _o("--quiet", type=bool, field=None, ui=False, help="no per-file lines or progress bar (errors are still printed)"),
))

PREPROCESS = CommandOptions("preprocess", config=PreprocessConfig, options=(
    _o("model_name", field="model_name", applio=("model_name",), help="experiment name; chunks go to <logs_dir>/<model_name>/"),
    _o("--dataset_path", group="preprocess",
       help="folder of recordings; one sub-folder per speaker for multi-speaker (default $ARVC_DATASETS_DIR/"
            "<model_name> or ./datasets/<model_name>)"),
    _o("--sample_rate", type=int, choices=SAMPLE_RATES, group="preprocess",
       help="model sample rate (default 40000)"),
    _o("--cut_method", "--cut_preprocess", choices=CUT_METHODS, case_insensitive=True,
       group="preprocess",
       help="Automatic: split at silences, then chunk; Simple: fixed chunks; Skip: keep files whole up to "
            "chunk_len+overlap_len"),
    _o("--chunk_len", type=float, range=(0.5, 60), group="preprocess", help="chunk length in seconds (default 3.0)"),
    _o("--overlap_len", type=float, range=(0, 10), group="preprocess",
       help="overlap between consecutive chunks in seconds (default 0.3)"),
    _o("--normalization", "--normalization_mode", choices=NORMALIZATIONS, case_insensitive=True,
       group="preprocess",
       help="RVC peak/blend normalisation of whole files (pre) or of each chunk (post); default none"),
    _o("--process_effects", type=bool, group="preprocess",
       help="high-pass against rumble as RVC: Butterworth order 5 at 48 Hz, causal (lfilter)"),
    _o("--noise_reduction", "--clean_dataset", type=bool, group="preprocess",
       help="spectral-gating denoise (on the GPU when there is one)"),
    _o("--clean_strength", type=float, range=(0, 1), group="preprocess", applio=("noise_reduction_strength",), help="denoise strength 0..1 (default 0.7)"),
    _o("--cpu_cores", type=int, range=(1, None), group="preprocess",
       help="worker processes (default: all cores; 1 = no subprocess)", ui=False),
    LOGS_DIR, PROGRESS,
))

EXTRACT = CommandOptions("extract", config=ExtractConfig, options=(
    _o("model_name", applio=("model_name",), help="experiment name (a folder made by 'arvc preprocess')"),
    _o("--f0_method", label="pitch method", choices=F0_METHODS + ("hybrid[rmvpe+crepe]",), strict=False,
       group="extract",
       help="pitch method: rmvpe, crepe, crepe-tiny, fcpe, harvest, dio, pm, yin, pyin, piptrack, swipe, rapt, "
            "swift, pesto, penn (FCNF0++), djcm, fusion (fcpe + swift fused, voicing checked on the signal), "
            "or hybrid[a+b+...] (the members' candidates fused by confidence, octave errors corrected, "
            "Viterbi-smoothed, voicing with hysteresis) (default rmvpe)"),
    _o("--embedder_model", choices=EMBEDDERS, strict=False, group="extract",
       help="contentvec (default), hubert_base, chinese-hubert-base, japanese-hubert-base, japanese-hubert-large, "
            "korean-hubert-base, spin, spin-v2, whisper-tiny.en, custom, or a Hugging Face id owner/name"),
    _o("--embedder_path", "--embedder_model_custom", group="extract",
       help="for --embedder_model custom: a folder with config.json + model.safetensors / pytorch_model.bin "
            "(or one weight file)"),
    _o("--version", choices=VERSIONS, group="extract",
       help="model version: v2 = 768-dim features (default), v1 = 256-dim (layer 9 + final_proj)"),
    _o("--sample_rate", type=int, choices=SAMPLE_RATES, group="extract",
       help="model sample rate; checked against the preprocessed chunks (default: theirs)", ui="advanced"),
    _o("--hop_length", type=int, range=(1, 512), group="extract", ui="advanced",
       help="F0 analysis hop in samples at 16 kHz (default 160 = 10 ms; other hops are resampled to 10 ms frames)"),
    _o("--f0_min", type=float, range=(1, 2000), group="extract", help="lowest F0 in Hz (default 50)", ui="advanced"),
    _o("--f0_max", type=float, range=(20, 8000), group="extract", help="highest F0 in Hz (default 1100)", ui="advanced"),
    _o("--include_mutes", type=int, range=(0, 100), group="extract",
       help="silent training entries per speaker added to filelist.txt (default 2)", ui="advanced"),
    _o("--cpu_cores", type=int, range=(1, None), group="extract",
       help="processes for F0 on the CPU (default: all cores; 1 = in-process)", ui="advanced"),
    _o("--gpu", group="extract", help="GPU id(s), e.g. 0 (default: the first available, else CPU)",
       ui="advanced"),
    _o("--embedders_mix", group="extract", ui="advanced",
       help="blend two transformer layers: RATIO * layer A + (1 - RATIO) * layer B (e.g. 9,12,0.5)"),
    _o("--embedder_layer", type=int, range=(0, 64), group="extract", ui="advanced",
       help="take features from this transformer layer (default: last for v2, 9 for v1)"),
    _o("--precision", choices=PRECISIONS, group="extract", ui="advanced",
       help="embedder precision (default auto: fp16 on a CUDA GPU, bf16 on AMX CPUs, else fp32; fp16 on GPUs only)"),
    _o("--shard", parse=shard_spec, group="extract", ui=False, metavar="I/N",
       help="extract part I of N (0 <= I < N; every N-th chunk) so N processes or machines share the work; "
            "auto = the RANK/WORLD_SIZE of torchrun / accelerate launch. A run without --shard afterwards "
            "computes whatever is missing and writes filelist.txt"),
    LOGS_DIR, PROGRESS,
))

CREATE_INDEX = CommandOptions("create-index", config=CreateIndexConfig, options=(
    _o("model_name", applio=("model_name",), help="experiment name (folder under the logs dir)"),
    _o("--version", choices=VERSIONS, group="index",
       help="model version: v1 = 256-dim, v2 = 768-dim features", ui=False),
    _o("--algorithm", choices=("Auto", "Faiss", "KMeans"), group="index", applio=("index_algorithm",),
       help="Faiss: IVF over all frames; KMeans: first reduce to 10,000 centroids; Auto: KMeans above 200,000 frames"),
    _o("--nprobe", type=int, range=(1, None), group="index", ui=False,
       help="IVF lists visited per search, stored in the index (default 9)"),
    _o("--seed", type=int, range=SEED_RANGE, group="index", help="seed of the shuffle and the clustering", ui=False),
    LOGS_DIR,
    _o("-o", "--output", help="index path (default logs/<model>/<model>.index)", ui=False),
))


def _live(*flags: str, **kw) -> Option:
    """A conversion option of ``arvc realtime``: an :class:`InferenceConfig` field, default the realtime one."""
    return _live_of(_o(*flags, **kw))


def _live_of(o: Option) -> Option:
    return dataclasses.replace(o, default=getattr(RealtimeConfig().inference, o.config_field()))


REALTIME = CommandOptions("realtime", config=RealtimeConfig, options=(
    _o("-m", "--model", field=None, ui=False,
       help="voice model: RVC/Applio .pth, a so-vits-svc voice folder / G_*.pth, or a library voice name"),
    _o("--index", field=None, help="retrieval index (.index); omit to skip retrieval", ui=False),
    _o("--list_devices", type=bool, field=None, help="print the audio devices and exit", ui=False),
    _o("--input_device", field=None, help="input device index or name (default: the system's)", ui=False),
    _o("--output_device", field=None, help="output device index or name (default: the system's)", ui=False),
    _o("--sample_rate", type=int, range=(0, 192000), ui="advanced",
       help="stream rate in Hz (default 0: 48000 live, the model's rate with --simulate)"),
    _o("--simulate", nargs=2, metavar=("IN", "OUT"), field=None, ui=False,
       help="stream the file IN through the same block loop and write OUT (no sound card needed)"),
    _o("--connect", field=None, metavar="URL", ui=False,
       help="convert on a remote 'arvc ui' server (ws://host:7865/api/ws-audio) instead of here, with --simulate; "
            "-m/--index then name the server's files (a voice's name is enough)"),
    _o("--connect_auth", field=None, metavar="USER:PASSWORD", ui=False,
       help="the remote UI's login, when it has one (--connect)"),
    _o("--pace", choices=("realtime", "fast"), default="realtime", field=None,
       help="--simulate speed: realtime (a clock plays the device; underruns are real) or fast"),
    _o("--seconds", type=float, range=(0, None), field=None, help="stop a live stream after this long (default: Ctrl-C)", ui=False),
    _o("--block_ms", type=int, range=(10, 10000), group="stream", help="input block per conversion step, ms (default 250)"),
    _o("--context_ms", type=int, range=(0, 30000), group="stream",
       help="earlier audio the embedder and prior see each step, ms (default 1000; more = better, slower)"),
    _o("--embedder_context_ms", type=int, range=(0, 30000), group="stream", ui="advanced",
       help="left context the embedder sees before the frames it recomputes each step, ms (default 300); earlier "
            "frames keep the features of earlier steps. >= --context_ms re-embeds the whole window every step"),
    _o("--crossfade_ms", type=int, range=(0, 1000), group="stream", help="SOLA crossfade between blocks, ms (default 50; 0 = off)"),
    _o("--silence_db", type=float, range=(-150, 0), group="stream",
       help="blocks quieter than this (dBFS RMS) skip the model and output silence (default -60)"),
    _o("--noise_gate_db", type=float, range=(-150, 0), parse=gate_db, widget="text", group="stream",
       help="input noise gate: input below this level (dBFS RMS per 10 ms; 6 dB hysteresis, 100 ms hold, "
            "5/50 ms ramps) is silenced before conversion, so background noise is not turned into voice "
            "(default off; e.g. -45)"),
    _o("--headroom_ms", type=int, range=(0, 10000), group="stream", ui="advanced",
       help="live output buffered ahead for compute jitter, ms (default 100; raise it on underruns)"),
    _o("--report_every", type=float, default=5.0, range=(0.1, None), field=None, ui=False,
       help="seconds between statistics lines (default 5)"),
    _live("--pitch", type=float, range=PITCH_RANGE, group="conversion", help="transpose in semitones (+12 = one octave up)"),
    _live("--f0_method", choices=F0_METHODS, strict=False, group="conversion",
          help="pitch estimator; fast ones first: fcpe (default), rmvpe, swift, pm"),
    _live("--index_rate", type=float, range=(0, 1), group="conversion",
          help="0..1 share of each feature frame taken from the index"),
    _live("--protect", type=float, range=(0, 0.5), group="conversion", help="0..0.5 consonant protection (0.5 = off)"),
    _live("--rms_mix_rate", "--volume_envelope", type=float, range=(0, 1), group="conversion",
          help="0..1: 1 keeps the model's loudness, 0 follows the input's"),
    _live("--speaker_id", "--sid", type=int, range=(0, None), group="conversion", help="speaker row of multi-speaker models"),
    _live("--precision", choices=INFER_PRECISIONS, group="conversion",
          help="compute precision (default auto, see arvc.device.resolve_precision)"),
    _live("--embedder_model", choices=EMBEDDERS, strict=False, group="conversion", ui="advanced",
          help="content embedder (default: the model's, else contentvec)"),
    _live("--embedder_path", group="conversion", ui="advanced",
          help="local embedder folder (for --embedder_model custom)"),
    _live("--gpu", group="conversion", ui="advanced", help="GPU id; default: first accelerator, else CPU"),
    _o("--threads", type=int, range=(1, None), field=None, ui=False, help="torch CPU threads (default: torch's)"),
    _live("--deterministic", type=bool, group="conversion", ui="advanced",
          help="no random noise (prior mean, noiseless NSF source)"),
    *(dataclasses.replace(_live_of(o), ui=False) for o in SVC_INFER_OPTIONS),  # flags only (no Realtime tab control)
))


def borrowed(table: CommandOptions, *exclude: str) -> tuple[Option, ...]:
    """``table``'s options (minus ``exclude``) for another command, each default fixed to ``table``'s."""
    return tuple(dataclasses.replace(o, default=o.default_from(table.config)) for o in table.without(*exclude))


CONVERSION = borrowed(INFER, "input", "output", "skip_existing", "quiet")

TTS = CommandOptions("tts", config=TtsRun, options=(
    _o("text", nargs="?", field=None, applio=("tts_text",), help="what to say (or --tts_file)"),
    _o("--tts_file", field=None, help="UTF-8 text file to say (used instead of the text when given)"),
    _o("--tts_engine", field="engine", label="TTS engine", choices=("auto", "espeak", "edge"),
       help="espeak: espeak-ng, offline; edge: Microsoft Edge voices via edge-tts, online (Applio's); auto "
            "(default): edge for an Edge voice name like en-US-AriaNeural, else espeak"),
    _o("--tts_voice", field="voice", label="TTS voice",
       help="voice: espeak-ng's (en-us, de, fr, en+f3 ...; espeak-ng --voices) or Edge's (en-US-AriaNeural)"),
    _o("--tts_rate", field="rate", label="TTS speaking rate", type=int, range=(-100, 100),
       help="speaking rate -100..100, percent slower/faster (default 0)"),
    _o("-o", "--output", required=True, field=None, applio=("output_rvc_path",), ui=False,
       help="converted speech file (.wav/.flac/.mp3/.ogg)"),
    _o("--output_tts", field=None, applio=("output_tts_path",), ui=False, help="also keep the plain TTS audio here"),
    *CONVERSION,
))


def _cover_options() -> tuple[Option, ...]:
    from arvc.audio.separation import DEFAULT_BACKING_MODEL, DEFAULT_DEREVERB_MODEL

    gain = dict(type=float, range=(-60, 24), group="mix")
    return (
        _o("song", nargs="?", field=None, help="the song (any audio format); omit with --vocals/--instrumental"),
        _o("--vocals", ui=False, help="vocal stem you already have (no separation)"),
        _o("--instrumental", ui=False, help="instrumental stem you already have (with --vocals)"),
        _o("-o", "--output_dir", default="covers", ui=False,
           help="folder for the mix and every stem (default ./covers)"),
        _o("--name", ui=False, help="file name prefix (default: the song's name)"),
        _o("--separator_model", group="separation", ui="advanced",
           help="audio-separator model that splits vocals / instrumental"),
        _o("--split_backing", type=bool, field=None, group="separation",
           help="also split lead and backing vocals (--backing_model); only the lead is converted"),
        _o("--backing_model", default=DEFAULT_BACKING_MODEL, group="separation", ui="advanced",
           help="model of --split_backing"),
        _o("--dereverb", type=bool, field=None, group="separation",
           help="remove the lead vocal's reverb/echo before conversion (--dereverb_model)"),
        _o("--dereverb_model", default=DEFAULT_DEREVERB_MODEL, group="separation", ui="advanced",
           help="model of --dereverb"),
        _o("--separator_dir", group="separation", ui=False,
           help="audio-separator's model folder (default $ARVC_MODELS_DIR/audio-separator)"),
        _o("--cache_dir", group="separation", ui=False, help="stem cache (default $ARVC_MODELS_DIR/cover_cache)"),
        _o("--pitch_all", type=bool, group="mix",
           help="shift the instrumental and backing vocals by --pitch too (keeps the song in tune)"),
        _o("--vocal_gain", help="dB applied to the converted vocal in the mix", **gain),
        _o("--instrumental_gain", help="dB applied to the instrumental in the mix", **gain),
        _o("--backing_gain", help="dB applied to the backing vocals in the mix", **gain),
        *(o for o in CONVERSION if o.dest != "format"),
        _o("--format", choices=("wav", "flac", "ogg"), case_insensitive=True, group="mix",
           help="format of the mix and stems"),
    )


COVER = CommandOptions("cover", config=CoverRun, options=_cover_options())
