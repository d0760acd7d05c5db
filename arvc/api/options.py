"""One definition of each command option: argparse flags and the web UI's controls are both built from these tables.

An :class:`Option` names its flags, type, choices, help text and group; its default is read from the typed
config dataclass field it fills (``field``) unless the option gives its own. Adding an option is one entry
here (plus the config field): ``arvc <command> --help`` and the UI's tab both show it.

Importing this module imports no torch (the config dataclasses are plain).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from arvc.api.argtypes import gate_db, str2bool
from arvc.constants import SAMPLE_RATES, VERSIONS
from arvc.inference.config import EXPORT_FORMATS, InferenceConfig
from arvc.inference.effects import POST_EFFECTS
from arvc.inference.realtime_config import RealtimeConfig
from arvc.stages.config import CreateIndexConfig, ExtractConfig, PreprocessConfig

_UNSET: Any = object()

F0_METHODS = ("rmvpe", "crepe", "crepe-tiny", "fcpe", "harvest", "dio", "pm", "yin", "pyin", "piptrack", "swipe",
              "rapt", "swift", "pesto", "fusion")
EMBEDDERS = ("contentvec", "hubert_base", "chinese-hubert-base", "japanese-hubert-base", "japanese-hubert-large",
             "korean-hubert-base", "spin", "spin-v2", "whisper-tiny.en", "custom")
OPTIMIZERS = ("AdamW", "RAdam", "AdaBelief", "AdaBeliefV2", "AnyPrecisionAdamW")
CUT_METHODS = ("Automatic", "Simple", "Skip")
NORMALIZATIONS = ("none", "pre", "post")


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    """Case-insensitive choice parser (``--cut_method automatic`` is ``Automatic``)."""

    def parse(value: str) -> str:
        for c in choices:
            if value.strip().lower() == c.lower():
                return c
        raise argparse.ArgumentTypeError(f"invalid choice {value!r} (choose from {', '.join(choices)})")

    return parse


@dataclass(frozen=True)
class Option:
    """One flag of one command.

    flags: spellings, the first is canonical (``("--rms_mix_rate", "--volume_envelope")``); a name without
        dashes is a positional argument.
    type: ``bool``, ``int``, ``float`` or ``str`` (booleans accept ``--x``, ``--x true``, ``--x false``).
    field: the config dataclass field this option fills (None: used by the command itself).
    choices: allowed values; ``strict=False`` lists suggestions only (e.g. F0 methods also accept hybrid[a+b]).
    range: (low, high) of a number; the web UI shows a slider.
    ui: whether the web UI shows a control for it (``"advanced"``: in a closed "Advanced" section).
    parse: converts the command-line text when ``type`` alone cannot (e.g. a level in dB or ``off``).
    metavar: the value's name(s) in ``--help`` (e.g. ``("IN", "OUT")`` for ``nargs=2``).
    """

    flags: tuple[str, ...]
    type: type = str
    help: str = ""
    default: Any = _UNSET
    choices: tuple | None = None
    strict: bool = True
    group: str = ""
    field: str | None = _UNSET
    nargs: str | None = None
    range: tuple[float, float] | None = None
    required: bool = False
    case_insensitive: bool = False
    ui: bool | str = True
    parse: Callable[[str], Any] | None = None
    metavar: str | tuple[str, ...] | None = None

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-")

    @property
    def flag(self) -> str:
        """The canonical spelling: the first long flag (``--model`` of ``-m, --model``)."""
        return next((f for f in self.flags if f.startswith("--")), self.flags[0])

    @property
    def positional(self) -> bool:
        return not self.flags[0].startswith("-")

    @property
    def own_default(self) -> bool:
        """Whether the option sets its default itself instead of taking the config field's."""
        return self.default is not _UNSET

    def config_field(self) -> str | None:
        return self.dest if self.field is _UNSET else self.field

    def default_from(self, config: type | None) -> Any:
        if self.default is not _UNSET:
            return self.default
        name = self.config_field()
        if config is not None and name is not None:
            for f in dataclasses.fields(config):
                if f.name == name:
                    if f.default is not dataclasses.MISSING:
                        return f.default
                    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                        return f.default_factory()  # type: ignore[misc]
        return False if self.type is bool else None

    def add_to(self, parser, config: type | None) -> None:
        default = self.default_from(config)
        if self.positional:
            parser.add_argument(self.flags[0], help=self.help)
            return
        kw: dict[str, Any] = {"dest": self.dest, "default": default, "help": self.help}
        if self.type is bool:
            kw.update(nargs="?", const=True, type=str2bool, metavar="BOOL")
        else:
            kw["type"] = self.parse or self.type
            if self.nargs:
                kw["nargs"] = self.nargs
            if self.metavar:
                kw["metavar"] = self.metavar
            if self.required:
                kw["required"] = True
            if self.choices and self.strict:
                if self.case_insensitive:
                    kw["type"] = _choice(self.choices)
                    kw["metavar"] = "{" + ",".join(map(str, self.choices)) + "}"
                else:
                    kw["choices"] = self.choices
        parser.add_argument(*self.flags, **kw)


@dataclass(frozen=True)
class CommandOptions:
    """The options of one command and the config dataclass their defaults come from."""

    command: str
    options: tuple[Option, ...]
    config: type | None = None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        groups: dict[str, Any] = {}
        for opt in self.options:
            target = parser
            if opt.group:
                target = groups.get(opt.group) or groups.setdefault(opt.group, parser.add_argument_group(opt.group))
            opt.add_to(target, self.config)

    def config_kwargs(self, args: argparse.Namespace) -> dict[str, Any]:
        """``{config field: parsed value}`` for every option that fills a config field."""
        return {o.config_field(): getattr(args, o.dest) for o in self.options if o.config_field() is not None}

    def defaults(self) -> dict[str, Any]:
        return {o.dest: o.default_from(self.config) for o in self.options}

    def get(self, dest: str) -> Option:
        for o in self.options:
            if o.dest == dest:
                return o
        raise KeyError(dest)

    def to_argv(self, values: dict[str, Any]) -> list[str]:
        """The CLI arguments that reproduce ``values`` (``{dest: value}``); unset (None / "") values are left out."""
        argv: list[str] = []
        for o in self.options:
            if o.dest not in values:
                continue
            v = values[o.dest]
            if v is None or (isinstance(v, str) and v == "" and o.type is not str) or (isinstance(v, (list, tuple)) and not v):
                continue
            if isinstance(v, str) and v == "" and (o.default_from(self.config) in (None, "")):
                continue
            if o.positional:
                argv.append(str(v))
            elif o.type is bool:
                argv += [o.flag, "true" if v else "false"]
            elif isinstance(v, (list, tuple)):
                argv += [o.flag, *map(str, v)]
            else:
                if o.type is int and isinstance(v, float) and v.is_integer():
                    v = int(v)
                argv += [o.flag, str(v)]
        return argv


def _o(*flags: str, **kw) -> Option:
    return Option(tuple(flags), **kw)


LOGS_DIR = _o("--logs_dir", help="root of experiment folders (default $ARVC_LOGS_DIR or ./logs)", group="paths", ui=False)
PROGRESS = _o("--progress", type=bool, help="show a progress bar", ui=False)

def _effect_options() -> tuple[Option, ...]:
    """Applio's conversion extras: formant shift, cleaning, the pedalboard chain (one switch + parameters each)."""
    fx = [
        _o("--formant_shifting", type=bool, field=None, group="effects", ui="advanced",
           help="shift the input's formants (stftpitchshift) before conversion"),
        _o("--formant_qfrency", type=float, default=1.0, field=None, group="effects", ui="advanced",
           help="formant lifter quefrency in ms (default 1.0)"),
        _o("--formant_timbre", type=float, default=1.0, field=None, group="effects", ui="advanced",
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
        fx += [_o(f"--{name}", type=type(default), default=default, field=None, group="effects", ui="advanced",
                  help=f"(default {default})") for name, default in effect.params.items()]
    return tuple(fx)


INFER = CommandOptions("infer", config=InferenceConfig, options=(
    _o("-m", "--model", required=True, field=None, help="voice model (.pth, RVC/Applio inference format)", ui=False),
    _o("--index", field=None, help="retrieval index (.index) of the model; omit to skip retrieval", ui=False),
    _o("-i", "--input", nargs="+", required=True, field=None, help="audio file(s) and/or folder(s) to convert", ui=False),
    _o("-o", "--output", field=None, ui=False,
       help="output file (one input) or folder (folder inputs keep their sub-folders); default <name>_converted "
            "beside the input"),
    _o("--pitch", type=float, range=(-24, 24), help="transpose in semitones (+12 = one octave up)"),
    _o("--f0_method", choices=F0_METHODS + ("hybrid[rmvpe+crepe]", "hybrid[harvest+pm]"), strict=False,
       help="pitch estimator: rmvpe (default, RVC's), crepe, crepe-tiny, fcpe, harvest, dio, pm, yin, pyin, swipe, "
            "rapt, swift, pesto, hybrid[a+b]"),
    _o("--index_rate", type=float, range=(0, 1),
       help="0..1, share of each feature frame taken from the index's nearest training frames (default 0.75)"),
    _o("--nprobe", type=int, help="IVF lists searched per query (default: the value stored in the index)", ui="advanced"),
    _o("--filter_radius", type=int, range=(0, 7), help="median filter radius for harvest F0 (>= 3 enables it)"),
    _o("--rms_mix_rate", "--volume_envelope", type=float, range=(0, 1),
       help="0..1: 1 keeps the model's loudness, 0 follows the input's volume envelope (default 1)"),
    _o("--protect", type=float, range=(0, 0.5),
       help="0..0.5: protect consonants/breaths by keeping pre-index features on unvoiced frames (0.5 = off)"),
    _o("--hop_length", type=int, help="accepted for Applio compatibility; F0 frames are always 10 ms", ui="advanced"),
    _o("--f0_autotune", type=bool, help="snap the pitch to the nearest semitone"),
    _o("--f0_autotune_strength", type=float, range=(0, 1), help="0..1, how hard autotune snaps"),
    _o("--f0_file", help="F0 curve file (lines 'seconds,hz') used instead of an F0 method", ui="advanced"),
    _o("--embedder_model", choices=EMBEDDERS, strict=False,
       help="content embedder: contentvec, hubert_base, custom, a hub id, ... (default: the one "
                                "recorded in the model, else contentvec)"),
    _o("--embedder_path", help="local embedder folder (for --embedder_model custom)"),
    _o("--speaker_id", "--sid", type=int, help="speaker row of multi-speaker models"),
    _o("--resample_sr", type=int, help="output sample rate (0 = the model's rate)"),
    _o("--format", "--export_format", choices=EXPORT_FORMATS, default=None, field=None,
       help="output format (default: the output file's suffix, else wav)"),
    _o("--wav_subtype", help="soundfile subtype for wav/flac, e.g. PCM_24 or FLOAT (default PCM_16)", ui="advanced"),
    _o("--split_audio", type=bool, help="convert each stretch of speech separately, keeping silences silent"),
    _o("--precision", choices=("auto", "fp32", "fp16", "bf16"),
       help="compute precision (default auto: fp16 on a CUDA GPU, bf16 on AMX CPUs whose bf16 checks out, else fp32)"),
    _o("--gpu", help="GPU id (e.g. 0); default: first accelerator, else CPU", ui="advanced"),
    _o("--batch_size", type=int, help="chunks of a long file synthesized together (default: 1 on the CPU, 4 on a GPU)",
       ui="advanced"),
    _o("--seed", type=int, help="fix the synthesizer's noise for reproducible output"),
    _o("--deterministic", type=bool,
       help="no random noise at all (prior mean, noiseless NSF source); Applio-parity mode", ui="advanced"),
    _o("--silence_gate_db", parse=gate_db,
       help="mute the output where the input stays below this RMS level (dBFS) for 0.1 s or more; 'off' keeps "
            "RVC's output as is (default -60)"),
    _o("--proposed_pitch", type=bool, group="pitch helpers", ui="advanced",
       help="transpose the source towards --proposed_pitch_threshold (Applio's)"),
    _o("--proposed_pitch_threshold", type=float, group="pitch helpers", ui="advanced",
       help="target median F0 in Hz of --proposed_pitch (155 male, 255 female; default 155)"),
    *_effect_options(),
    _o("--skip_existing", type=bool, field=None, ui=False, help="leave inputs whose output file already exists alone"),
    _o("--quiet", type=bool, field=None, ui=False, help="no per-file lines or progress bar (errors are still printed)"),
))

PREPROCESS = CommandOptions("preprocess", config=PreprocessConfig, options=(
    _o("model_name", field="model_name", help="experiment name; chunks go to <logs_dir>/<model_name>/"),
    _o("--dataset_path", group="preprocess",
       help="folder of recordings; one sub-folder per speaker for multi-speaker (default $ARVC_DATASETS_DIR/"
            "<model_name> or ./datasets/<model_name>)"),
    _o("--sample_rate", type=int, choices=SAMPLE_RATES, group="preprocess",
       help="model sample rate (default 40000)"),
    _o("--cut_method", "--cut_preprocess", choices=CUT_METHODS, case_insensitive=True,
       group="preprocess",
       help="Automatic: split at silences, then chunk; Simple: fixed chunks; Skip: keep files whole up to "
            "chunk_len+overlap_len"),
    _o("--chunk_len", type=float, group="preprocess", help="chunk length in seconds (default 3.0)"),
    _o("--overlap_len", type=float, group="preprocess",
       help="overlap between consecutive chunks in seconds (default 0.3)"),
    _o("--normalization", "--normalization_mode", choices=NORMALIZATIONS, case_insensitive=True,
       group="preprocess",
       help="RVC peak/blend normalisation of whole files (pre) or of each chunk (post); default none"),
    _o("--process_effects", type=bool, group="preprocess",
       help="high-pass against rumble as RVC: Butterworth order 5 at 48 Hz, causal (lfilter)"),
    _o("--noise_reduction", "--clean_dataset", type=bool, group="preprocess",
       help="spectral-gating denoise (on the GPU when there is one)"),
    _o("--clean_strength", type=float, range=(0, 1), group="preprocess", help="denoise strength 0..1 (default 0.7)"),
    _o("--cpu_cores", type=int, group="preprocess",
       help="worker processes (default: all cores; 1 = no subprocess)", ui=False),
    LOGS_DIR, PROGRESS,
))

EXTRACT = CommandOptions("extract", config=ExtractConfig, options=(
    _o("model_name", help="experiment name (a folder made by 'arvc preprocess')"),
    _o("--f0_method", choices=F0_METHODS + ("hybrid[rmvpe+crepe]",), strict=False, group="extract",
       help="pitch method: rmvpe, crepe, crepe-tiny, fcpe, harvest, dio, pm, yin, pyin, piptrack, swipe, rapt, "
            "swift, pesto, or hybrid[a+b+...] (per frame: voiced when at least half the methods say so, F0 = median "
            "in log-Hz of their voiced estimates) (default rmvpe)"),
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
    _o("--hop_length", type=int, group="extract", ui="advanced",
       help="F0 analysis hop in samples at 16 kHz (default 160 = 10 ms; other hops are resampled to 10 ms frames)"),
    _o("--f0_min", type=float, group="extract", help="lowest F0 in Hz (default 50)", ui="advanced"),
    _o("--f0_max", type=float, group="extract", help="highest F0 in Hz (default 1100)", ui="advanced"),
    _o("--include_mutes", type=int, group="extract",
       help="silent training entries per speaker added to filelist.txt (default 2)", ui="advanced"),
    _o("--cpu_cores", type=int, group="extract",
       help="processes for F0 on the CPU (default: all cores; 1 = in-process)", ui="advanced"),
    _o("--gpu", group="extract", help="GPU id(s), e.g. 0 (default: the first available, else CPU)",
       ui="advanced"),
    _o("--embedders_mix", group="extract", ui="advanced",
       help="blend two transformer layers: RATIO * layer A + (1 - RATIO) * layer B (e.g. 9,12,0.5)"),
    _o("--embedder_layer", type=int, group="extract", ui="advanced",
       help="take features from this transformer layer (default: last for v2, 9 for v1)"),
    _o("--precision", choices=("auto", "fp32", "fp16", "bf16"), group="extract", ui="advanced",
       help="embedder precision (default auto: fp16 on a CUDA GPU, bf16 on AMX CPUs, else fp32; fp16 on GPUs only)"),
    LOGS_DIR, PROGRESS,
))

CREATE_INDEX = CommandOptions("create-index", config=CreateIndexConfig, options=(
    _o("model_name", help="experiment name (folder under the logs dir)"),
    _o("--version", choices=VERSIONS, group="index",
       help="model version: v1 = 256-dim, v2 = 768-dim features", ui=False),
    _o("--algorithm", choices=("Auto", "Faiss", "KMeans"), group="index",
       help="Faiss: IVF over all frames; KMeans: first reduce to 10,000 centroids; Auto: KMeans above 200,000 frames"),
    _o("--nprobe", type=int, group="index", ui=False,
       help="IVF lists visited per search, stored in the index (default 9)"),
    _o("--seed", type=int, group="index", help="seed of the shuffle and the clustering", ui=False),
    LOGS_DIR,
    _o("-o", "--output", help="index path (default logs/<model>/<model>.index)", ui=False),
))


def _live(*flags: str, **kw) -> Option:
    """A conversion option of ``arvc realtime``: an :class:`InferenceConfig` field, default the realtime one."""
    opt = _o(*flags, **kw)
    return dataclasses.replace(opt, default=getattr(RealtimeConfig().inference, opt.config_field()))


REALTIME = CommandOptions("realtime", config=RealtimeConfig, options=(
    _o("-m", "--model", field=None, help="voice model (.pth, RVC/Applio inference format)", ui=False),
    _o("--index", field=None, help="retrieval index (.index); omit to skip retrieval", ui=False),
    _o("--list_devices", type=bool, field=None, help="print the audio devices and exit", ui=False),
    _o("--input_device", field=None, help="input device index or name (default: the system's)", ui=False),
    _o("--output_device", field=None, help="output device index or name (default: the system's)", ui=False),
    _o("--sample_rate", type=int, ui="advanced",
       help="stream rate in Hz (default: 48000 live, the model's rate with --simulate)"),
    _o("--simulate", nargs=2, metavar=("IN", "OUT"), field=None, ui=False,
       help="stream the file IN through the same block loop and write OUT (no sound card needed)"),
    _o("--pace", choices=("realtime", "fast"), default="realtime", field=None,
       help="--simulate speed: realtime (a clock plays the device; underruns are real) or fast"),
    _o("--seconds", type=float, field=None, help="stop a live stream after this long (default: Ctrl-C)", ui=False),
    _o("--block_ms", type=int, group="stream", help="input block per conversion step, ms (default 250)"),
    _o("--context_ms", type=int, group="stream",
       help="earlier audio the embedder and prior see each step, ms (default 1000; more = better, slower)"),
    _o("--crossfade_ms", type=int, group="stream", help="SOLA crossfade between blocks, ms (default 50; 0 = off)"),
    _o("--silence_db", type=float, group="stream",
       help="blocks quieter than this (dBFS RMS) skip the model and output silence (default -60)"),
    _o("--noise_gate_db", type=float, parse=gate_db, group="stream",
       help="input noise gate: input below this level (dBFS RMS per 10 ms; 6 dB hysteresis, 100 ms hold, "
            "5/50 ms ramps) is silenced before conversion, so background noise is not turned into voice "
            "(default off; e.g. -45)"),
    _o("--headroom_ms", type=int, group="stream", ui="advanced",
       help="live output buffered ahead for compute jitter, ms (default 100; raise it on underruns)"),
    _o("--report_every", type=float, default=5.0, field=None, ui=False,
       help="seconds between statistics lines (default 5)"),
    _live("--pitch", type=float, range=(-24, 24), group="conversion", help="transpose in semitones (+12 = one octave up)"),
    _live("--f0_method", choices=F0_METHODS, strict=False, group="conversion",
          help="pitch estimator; fast ones first: fcpe (default), rmvpe, swift, pm"),
    _live("--index_rate", type=float, range=(0, 1), group="conversion",
          help="0..1 share of each feature frame taken from the index"),
    _live("--protect", type=float, range=(0, 0.5), group="conversion", help="0..0.5 consonant protection (0.5 = off)"),
    _live("--rms_mix_rate", "--volume_envelope", type=float, range=(0, 1), group="conversion",
          help="0..1: 1 keeps the model's loudness, 0 follows the input's"),
    _live("--speaker_id", "--sid", type=int, group="conversion", help="speaker row of multi-speaker models"),
    _live("--precision", choices=("auto", "fp32", "fp16", "bf16"), group="conversion",
          help="compute precision (default auto, see arvc.device.resolve_precision)"),
    _live("--embedder_model", choices=EMBEDDERS, strict=False, group="conversion", ui="advanced",
          help="content embedder (default: the model's, else contentvec)"),
    _live("--embedder_path", group="conversion", ui="advanced",
          help="local embedder folder (for --embedder_model custom)"),
    _live("--gpu", group="conversion", ui="advanced", help="GPU id; default: first accelerator, else CPU"),
    _o("--threads", type=int, field=None, ui=False, help="torch CPU threads (default: torch's)"),
    _live("--deterministic", type=bool, group="conversion", ui="advanced",
          help="no random noise (prior mean, noiseless NSF source)"),
))


def __getattr__(name: str):
    """``TRAIN`` lives in :mod:`arvc.api.options_train` (it reads arvc.training's config): loaded on first use,
    so that ``infer`` never imports training code."""
    if name == "TRAIN":
        from arvc.api.options_train import TRAIN

        return TRAIN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
