"""The realtime WebSocket protocol of ``/api/ws-audio`` (server: :mod:`arvc.ui.ws_audio`, client:
:mod:`arvc.api.ws_client`), torch-free.

Two dialects share the endpoint; the first text message picks one.

**Applio's** (so a client written for Applio's realtime tab works): the first message is Applio's settings JSON
(``chunk_size``, ``cross_fade_overlap_size`` and ``extra_convert_size`` in seconds, ``model_path``,
``index_path``, ``f0_method``, ``f0_up_key``, ``index_rate``, ``protect``, ``volume_envelope``, ``sid``,
``silent_threshold``, ``embedder_model``, ``embedder_model_custom``, ``input_audio_gain``, ...). Then binary
messages of float32 mono 48 kHz samples, ``chunk_size × 128`` each; for every one the server sends a text
``{"type": "latency", "value": compute_ms, "volume": input_rms, "offset_samples": n}`` (the last field is
arvc's: how far the reply stream is behind the input) and the converted block (float32, the same length) as
binary. Settings arvc has no counterpart for (VAD, autotune, effects, ...) are listed once in a
``{"type": "warning"}`` message and ignored.

**arvc's own** (version :data:`VERSION`)::

    -> {"type": "settings", "protocol": "arvc", "version": 1, "model": "voice.pth", "index": "voice.index",
        "options": {"block_ms": 250, "pitch": 0, "f0_method": "fcpe", ...}}   # arvc realtime's option names
    <- {"type": "ready", "version": 1, "sample_rate": 48000, "block_samples": 12000, "delay_samples": ...,
        "algorithmic_latency_ms": 310, "resampling_ms": 2.1, "warm_block_ms": 80.5, "warnings": []}
    -> binary float32 mono at sample_rate, any length up to ``max_message_seconds``
    <- binary converted float32 (whatever the block loop completed: 0, 1 or more blocks), then
       {"type": "stats", "seq": n, "in_samples": .., "out_samples": .., "compute_ms": .., "p50_ms": ..,
        "p95_ms": .., "blocks": .., "silent": .., "late": .., "underruns": .., "dropped": .., "delay_samples": ..}
       (delay_samples: how far the output stream is behind the input; final after the first block)
    -> {"type": "ping", "t": any}        <- {"type": "pong", "t": any}     (network round trip)
    -> {"type": "flush"}                 <- binary (the tail still in the loop), {"type": "flushed", ...stats}
    <- {"type": "error", "message": "...", "fatal": false}   (fatal: the server closes the connection next)

The options are those of ``arvc realtime`` that fill its config (``arvc realtime --help``), with the same
meaning and checks. Model, index and embedder paths are the server's: only voices under its models folder,
logs and the UI's outputs are accepted (or a voice's name, e.g. ``"voice"`` for ``.../voice/voice.pth``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from arvc.errors import ArvcError

VERSION = 1
PATH = "/api/ws-audio"
STREAM_RATE = 48000  # Applio's AUDIO_SAMPLE_RATE; arvc's default stream rate
APPLIO_CHUNK = 128  # Applio's block is chunk_size × 128 samples
APPLIO_UNSUPPORTED = ("vad_enabled", "autotune", "proposed_pitch", "clean_audio", "post_process", "kwargs")
# arvc realtime options a client may set (the rest are the server's: devices, files, threads, ...)
CLIENT_OPTIONS = ("block_ms", "context_ms", "crossfade_ms", "silence_db", "noise_gate_db", "sample_rate", "pitch",
                  "f0_method", "index_rate", "protect", "rms_mix_rate", "speaker_id", "precision", "embedder_model",
                  "embedder_path", "deterministic")


@dataclass
class SessionSettings:
    """What a first message asks for: the dialect, the voice and ``arvc realtime`` options (``{dest: value}``).

    applio_block: Applio's block in samples (replies have this length), 0 for arvc's dialect.
    input_gain: factor applied to the input (Applio's ``input_audio_gain`` percent / 100).
    """

    dialect: str
    model: str
    index: str | None
    options: dict[str, Any]
    applio_block: int = 0
    input_gain: float = 1.0
    warnings: list[str] = field(default_factory=list)


def loads(text: str | bytes, max_bytes: int) -> dict:
    """One JSON object message; :class:`ArvcError` (one line) when it is not."""
    if len(text) > max_bytes:
        raise ArvcError(f"text message of {len(text)} bytes is over the {max_bytes}-byte limit")
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ArvcError(f"not JSON: {str(e)[:80]}") from None
    if not isinstance(msg, dict):
        raise ArvcError(f"expected a JSON object, got {type(msg).__name__}")
    return msg


def parse_settings(msg: dict) -> SessionSettings:
    """The first message -> :class:`SessionSettings`; :class:`ArvcError` names the bad field."""
    if msg.get("protocol") == "arvc" or msg.get("type") == "settings":
        return _arvc_settings(msg)
    if "chunk_size" in msg or msg.get("type") == "init":
        return _applio_settings(msg)
    raise ArvcError('first message: expected settings ({"type": "settings", "protocol": "arvc", ...} or Applio\'s '
                    "with chunk_size, model_path, ...)")


def _arvc_settings(msg: dict) -> SessionSettings:
    version = msg.get("version", VERSION)
    if version != VERSION:
        raise ArvcError(f"protocol version {version!r} is not supported (this server speaks {VERSION})")
    model = _text(msg, "model", required=True)
    options = msg.get("options", {})
    if not isinstance(options, dict):
        raise ArvcError("options: expected an object of arvc realtime options")
    unknown = sorted(set(options) - set(CLIENT_OPTIONS))
    if unknown:
        raise ArvcError(f"options: unknown or not allowed here: {', '.join(map(str, unknown))[:200]} "
                        f"(allowed: {', '.join(CLIENT_OPTIONS)})")
    for k, v in options.items():
        if not isinstance(v, (str, int, float, bool)) and v is not None:
            raise ArvcError(f"options.{k}: expected a number, string or boolean")
    return SessionSettings("arvc", model, _text(msg, "index"), dict(options))


def _applio_settings(msg: dict) -> SessionSettings:
    chunk = _number(msg, "chunk_size", 1, 1500, required=True)
    if chunk != int(chunk):
        raise ArvcError(f"chunk_size: expected a whole number, got {chunk}")
    block = int(chunk) * APPLIO_CHUNK
    block_ms = max(50, round(block * 1000 / STREAM_RATE / 10) * 10)
    crossfade = _seconds_ms(msg, "cross_fade_overlap_size", 0.05)
    opts: dict[str, Any] = {"block_ms": block_ms, "crossfade_ms": min(crossfade, block_ms),
                            "context_ms": _seconds_ms(msg, "extra_convert_size", 0.5), "sample_rate": STREAM_RATE}
    for src, dst, lo, hi in (("f0_up_key", "pitch", -24, 24), ("index_rate", "index_rate", 0, 1),
                             ("protect", "protect", 0, 0.5), ("volume_envelope", "rms_mix_rate", 0, 1),
                             ("sid", "speaker_id", 0, 10_000), ("silent_threshold", "silence_db", -200, 0)):
        if msg.get(src) is not None:
            opts[dst] = _number(msg, src, lo, hi)
    if "speaker_id" in opts:
        opts["speaker_id"] = int(opts["speaker_id"])
    if msg.get("f0_method"):
        opts["f0_method"] = _text(msg, "f0_method")
    if msg.get("embedder_model"):
        opts["embedder_model"] = _text(msg, "embedder_model")
    if msg.get("embedder_model_custom"):
        opts["embedder_path"] = _text(msg, "embedder_model_custom")
    gain = _number(msg, "input_audio_gain", 0, 1000) / 100 if msg.get("input_audio_gain") is not None else 1.0
    ignored = [k for k in APPLIO_UNSUPPORTED if msg.get(k) not in (None, False, 0, {}, "")]
    warnings = [f"ignored (no arvc counterpart in realtime): {', '.join(ignored)}"] if ignored else []
    return SessionSettings("applio", _text(msg, "model_path", required=True), _text(msg, "index_path"), opts,
                           applio_block=block, input_gain=gain, warnings=warnings)


def _text(msg: dict, key: str, required: bool = False) -> str | None:
    v = msg.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        if required:
            raise ArvcError(f"{key}: required")
        return None
    if not isinstance(v, str) or len(v) > 4096 or "\0" in v:
        raise ArvcError(f"{key}: expected a path or name (a string)")
    return v.strip().strip('"').strip()


def _number(msg: dict, key: str, lo: float, hi: float, required: bool = False) -> float:
    v = msg.get(key)
    if v is None and required:
        raise ArvcError(f"{key}: required")
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
        raise ArvcError(f"{key}: expected a number in {lo}..{hi}, got {str(v)[:40]}")
    return v


def _seconds_ms(msg: dict, key: str, default: float) -> int:
    """Applio's sizes in seconds -> ms on arvc's 10 ms grid."""
    v = _number(msg, key, 0, 10) if msg.get(key) is not None else default
    return round(v * 100) * 10


def options_argv(options: dict[str, Any]) -> list[str]:
    """``arvc realtime`` flags of client options (parsed by the command's own parser, so checks match)."""
    from arvc.api.options import REALTIME

    values = {k: v for k, v in options.items() if k in CLIENT_OPTIONS}
    return REALTIME.to_argv(values)


def error(message: str, fatal: bool = False) -> str:
    return json.dumps({"type": "error", "message": message, "fatal": fatal})
