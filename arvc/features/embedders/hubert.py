"""HuBERT-family content encoders (ContentVec, HuBERT base, language HuBERTs) through ``transformers``.

A model folder holds ``config.json`` (a ``HubertConfig``) and ``model.safetensors`` or
``pytorch_model.bin``: the layout of Applio's embedders and of ``save_pretrained``. The optional
``final_proj`` (hidden -> classifier_proj_size, 768 -> 256) is read from the same weights
(``HubertModelWithFinalProj`` layout) and is only used for v1 features.

Features:
- v2: ``last_hidden_state`` (B, T, hidden) -- what RVC v2 / Applio use.
- v1: the output of transformer layer 9 through ``final_proj`` (B, T, 256), as mainline RVC v1
  (fairseq ``extract_features(output_layer=9)`` then ``final_proj``). Applio 3.x instead applies
  ``final_proj`` to ``last_hidden_state``; pass ``layer=12`` to get that.
- ``layer=N``: hidden state after transformer layer N (0 = the input of the first layer).
- ``mix=LayerMix(a, b, r)``: ``r * hidden[a] + (1 - r) * hidden[b]``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from arvc.constants import CONTENT_DIMS, SR_16K
from arvc.device import dtype_of
from arvc.errors import ArvcError
from arvc.features.embedders.base import Embedder, LayerMix
from arvc.features.embedders.hubert_net import HubertNet, HubertNetConfig
from arvc.features.embedders.sources import WEIGHT_FILES, resolve_model_path, weights_in

log = logging.getLogger(__name__)

V1_LAYER = 9


def _hubert_class():
    from torch import nn
    from transformers import HubertModel

    class HubertWithFinalProj(HubertModel):
        """``HubertModel`` plus RVC's ``final_proj`` Linear(hidden, classifier_proj_size)."""

        def __init__(self, config):
            super().__init__(config)
            self.final_proj = nn.Linear(config.hidden_size, config.classifier_proj_size)

    return HubertWithFinalProj


# ---------------------------------------------------------------- weights and config


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors / torch weight file (never unpickles code)."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as e:  # damaged or not a safetensors file
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ArvcError(f"{path}: not a readable safetensors file ({msg})") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ArvcError(f"{path}: not a plain weight file ({type(e).__name__}); fairseq checkpoints "
                        f"are not supported, use a transformers-format folder (config.json + weights)") from None
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ArvcError(f"{path}: expected a dict of tensors")
    return obj


def normalize_keys(sd: dict[str, torch.Tensor], expected: set[str]) -> dict[str, torch.Tensor]:
    """Map checkpoint names onto the model's: drop a ``hubert.`` / ``wav2vec2.`` prefix and translate the
    positional conv's weight norm between ``weight_g/weight_v`` and
    ``parametrizations.weight.original0/original1`` (whichever the model uses)."""
    pairs = ((".weight_g", ".parametrizations.weight.original0"), (".weight_v", ".parametrizations.weight.original1"))
    out: dict[str, torch.Tensor] = {}
    for prefix in ("hubert.", "wav2vec2.", "model."):
        if sum(k.startswith(prefix) for k in sd) > len(sd) // 2:
            sd = {k.removeprefix(prefix): v for k, v in sd.items()}
    for k, value in sd.items():
        if k not in expected:
            for old, new in pairs:
                if k.endswith(old) and k[: -len(old)] + new in expected:
                    k = k[: -len(old)] + new
                elif k.endswith(new) and k[: -len(new)] + old in expected:
                    k = k[: -len(new)] + old
        out[k] = value
    return out


def infer_config(sd: dict[str, torch.Tensor]) -> dict:
    """``config.json`` fields matching a bare state dict (for a single weight file without config.json)."""
    sd = {k.removeprefix("hubert."): v for k, v in sd.items()}
    try:
        hidden = sd["feature_projection.projection.weight"].shape[0]
        convs = sorted(int(k.split(".")[2]) for k in sd if k.startswith("feature_extractor.conv_layers.") and k.endswith(".conv.weight"))
        conv_dim = [sd[f"feature_extractor.conv_layers.{i}.conv.weight"].shape[0] for i in convs]
        layers = {int(k.split(".")[2]) for k in sd if k.startswith("encoder.layers.")}
        inter = sd["encoder.layers.0.feed_forward.intermediate_dense.weight"].shape[0]
        v = next(t for k, t in sd.items() if k.startswith("encoder.pos_conv_embed.conv.") and
                 (k.endswith("weight_v") or k.endswith("original1")))
    except (KeyError, StopIteration):
        raise ArvcError("weight file does not look like a HuBERT model and has no config.json beside it") from None
    layer_norm_front = "feature_extractor.conv_layers.1.layer_norm.weight" in sd
    proj = sd.get("final_proj.weight")
    return dict(
        hidden_size=hidden,
        num_hidden_layers=len(layers),
        num_attention_heads=max(hidden // 64, 1),
        intermediate_size=inter,
        conv_dim=list(conv_dim),
        conv_bias="feature_extractor.conv_layers.0.conv.bias" in sd,
        feat_extract_norm="layer" if layer_norm_front else "group",
        do_stable_layer_norm=layer_norm_front,
        num_conv_pos_embeddings=int(v.shape[2]),
        num_conv_pos_embedding_groups=hidden // v.shape[1],
        classifier_proj_size=int(proj.shape[0]) if proj is not None else 256,
    )


def _first_line(e: Exception) -> str:
    """The exception's message on one line (at most 200 characters)."""
    text = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
    return (text[:197] + "...") if len(text) > 200 else (text or type(e).__name__)


def _read_config(cfg_file: Path) -> dict:
    try:
        cfg_dict = json.loads(cfg_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ArvcError(f"{cfg_file}: unreadable config ({e})") from None
    if not isinstance(cfg_dict, dict):
        raise ArvcError(f"{cfg_file}: expected a JSON object (a transformers HubertConfig)")
    mtype = cfg_dict.get("model_type", "hubert")
    if mtype not in ("hubert", "wav2vec2"):
        raise ArvcError(f"{cfg_file}: model_type {mtype!r} is not a HuBERT model")
    return cfg_dict


def _build(cfg_dict: dict, where: Path) -> torch.nn.Module:
    """The network of a config dict on the meta device (no memory, no init): :class:`HubertNet`, or ``transformers``'
    ``HubertModel`` for what HubertNet does not cover."""
    try:
        config = HubertNetConfig.from_dict(cfg_dict)
    except ValueError as e:
        raise ArvcError(f"{where}: invalid HuBERT config ({_first_line(e)})") from None
    reason = config.unsupported()
    try:
        with torch.device("meta"):
            if reason is None:
                return HubertNet(config)
            from transformers import HubertConfig

            log.info("embedder %s: %s, built with transformers", where, reason)
            hf_config = HubertConfig.from_dict(cfg_dict)
            hf_config.layerdrop = 0.0
            return _hubert_class()(hf_config)
    except Exception as e:  # e.g. values transformers refuses
        raise ArvcError(f"{where}: invalid HuBERT config ({_first_line(e)})") from None


def load_hubert_model(path: Path):
    """Build the HuBERT network of a folder or weight file (on the meta device, then the file's tensors assigned in
    fp32: nothing is initialised or built twice). Returns (model, has_final_proj)."""
    if path.is_dir():
        weights = weights_in(path)
        if weights is None:
            raise ArvcError(f"{path}: no {' or '.join(WEIGHT_FILES)} in the embedder folder")
        cfg_file = path / "config.json"
    else:
        weights, cfg_file = path, path.parent / "config.json"
    sd = read_state_dict(weights)
    cfg_dict = _read_config(cfg_file) if cfg_file.is_file() else infer_config(sd)
    model = _build(cfg_dict, cfg_file if cfg_file.is_file() else weights)
    expected = set(model.state_dict())
    sd = normalize_keys(sd, expected)
    has_proj = "final_proj.weight" in sd and sd["final_proj.weight"].shape == model.final_proj.weight.shape
    if not has_proj:
        sd = {k: v for k, v in sd.items() if not k.startswith("final_proj.")}
    sd = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
    try:
        missing, unexpected = model.load_state_dict(sd, strict=False, assign=True)
    except RuntimeError as e:  # shape mismatches between the weights and config.json
        lines = [line.strip() for line in str(e).splitlines() if line.strip().startswith("size mismatch")]
        raise ArvcError(f"{weights}: the weights do not fit the config ({lines[0] if lines else _first_line(e)})") from None
    missing = [k for k in missing if not k.startswith("final_proj.") and k != "masked_spec_embed"]
    if missing:
        raise ArvcError(f"{weights}: {len(missing)} weights missing for this config (e.g. {missing[0]})")
    if unexpected:
        log.info("embedder %s: ignoring %d unused weights (e.g. %s)", weights, len(unexpected), unexpected[0])
    _materialize(model)
    return model.eval(), has_proj


def _materialize(model: torch.nn.Module) -> None:
    """Zeros on the CPU for what the file did not hold (the unused ``final_proj`` / ``masked_spec_embed``) and
    buffers that are not saved: nothing stays on the meta device."""
    for module in model.modules():
        for name, p in list(module.named_parameters(recurse=False)):
            if p.is_meta:
                setattr(module, name, torch.nn.Parameter(torch.zeros(p.shape, dtype=torch.float32),
                                                         requires_grad=p.requires_grad))
        for name, b in list(module.named_buffers(recurse=False)):
            if b.is_meta:
                raise ArvcError(f"embedder: buffer {name} of {type(module).__name__} is not in the weight file")


# ---------------------------------------------------------------- the embedder


INT8_TOLERANCE = 0.1  # relative L2 error of int8 features vs fp32 on the probe (0.025 on a random HuBERT base)


def guard_probe_audio(seconds: float = 1.0) -> torch.Tensor:
    """(1, N) 16 kHz speech-like probe: a gliding 8-harmonic tone with a noise floor (fixed seed)."""
    n = int(SR_16K * seconds)
    t = torch.arange(n, dtype=torch.float64) / SR_16K
    phase = 2 * torch.pi * torch.cumsum(torch.linspace(110.0, 260.0, n, dtype=torch.float64), 0) / SR_16K
    tone = sum(torch.sin(k * phase) / k for k in range(1, 9)) * (0.5 + 0.5 * torch.sin(2 * torch.pi * 3 * t))
    noise = torch.randn(n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return (0.2 * tone + 0.01 * noise).float().unsqueeze(0)


class HubertEmbedder(Embedder):
    """A HuBERT-family model as an :class:`Embedder` (see the module docstring for the outputs)."""

    def __init__(self, model, has_final_proj: bool, *, name: str, version: str = "v2", layer: int | None = None,
                 mix: LayerMix | None = None, device: torch.device | str = "cpu", precision: str = "fp32"):
        if version not in CONTENT_DIMS:
            raise ArvcError(f"--version {version!r}: expected v1 or v2")
        n_layers = model.config.num_hidden_layers
        if version == "v1" and not has_final_proj:
            raise ArvcError(f"embedder {name!r} has no final_proj weights, which v1 (256-dim) features need; "
                            f"use --version v2 or a ContentVec/HuBERT checkpoint with final_proj")
        if version == "v1" and layer is None and mix is None:
            layer = min(V1_LAYER, n_layers)
            if layer != V1_LAYER:
                log.warning("embedder %s has %d layers; v1 features taken from layer %d instead of %d",
                            name, n_layers, layer, V1_LAYER)
        for lay in [layer] + ([mix.layer_a, mix.layer_b] if mix else []):
            if lay is not None and not 0 <= lay <= n_layers:
                raise ArvcError(f"embedder {name!r} has layers 0..{n_layers}; layer {lay} does not exist")
        self.device = torch.device(device)
        if precision == "fp16" and self.device.type == "cpu":
            raise ArvcError("precision fp16 is not supported on the CPU; use fp32 or bf16")
        self.dtype = torch.float32 if precision == "int8" else dtype_of(precision)
        self.model = model.to(self.device).eval()
        self.name, self.version, self.layer, self.mix, self.precision = name, version, layer, mix, precision
        self.hidden_size = model.config.hidden_size
        self.dim = model.config.classifier_proj_size if version == "v1" else self.hidden_size
        self.normalize_input = model.config.feat_extract_norm == "layer"
        self.guard = None
        self.int8_error = None
        if precision == "int8":
            self._int8_linears()
        elif self.dtype != torch.float32 and self.device.type == "cpu":
            self._guard_cpu_precision()
        else:
            self.model.to(self.dtype)

    def _guard_cpu_precision(self) -> None:
        """Reduced precision on the CPU: layers whose kernels drift on this CPU (e.g. AMX) stay in fp32."""
        from arvc.precision.amx_workaround import route_around_amx_conv_bug
        from arvc.precision.guard import guard_reduced_precision

        route_around_amx_conv_bug(self.model)
        audio = guard_probe_audio().to(self.device)
        self.guard = guard_reduced_precision(self.model, lambda m, dt: m(audio.to(dt)), self.dtype)
        if self.guard.kept_fp32:
            log.warning("%s", self.guard.summary(f"embedder {self.name}"))

    def _int8_linears(self) -> None:
        """The transformer's linear layers in int8 (dynamic activations), kept only when the features on
        :func:`guard_probe_audio` stay within :data:`INT8_TOLERANCE` relative error of fp32; else fp32 and a
        warning (``precision`` then says fp32). The probe's error is cached per CPU, torch and weights (as the
        decoder's check), so later processes skip its two forwards."""
        from arvc.precision.guard import _guard_cache, _guard_cache_store, relative_error
        from arvc.precision.int8 import int8_cache_key, quantize_modules, weights_digest

        key = int8_cache_key("embedder-int8-1", INT8_TOLERANCE, self.version, self.layer, self.mix,
                             weights_digest(self.model))
        cached = _guard_cache().get(key)
        if cached is None:
            linears = {n: m for n, m in self.model.named_modules() if type(m) is torch.nn.Linear}
            audio = guard_probe_audio().to(self.device)
            with torch.no_grad():
                ref = self._forward(audio)
                quantize_modules(self.model, convs=False, linears=True)
                self.int8_error = relative_error(self._forward(audio), ref)
            _guard_cache_store(key, {"relative_error": self.int8_error})
            if not self.int8_error <= INT8_TOLERANCE:
                for name, module in linears.items():
                    parent, _, leaf = name.rpartition(".")
                    setattr(self.model.get_submodule(parent) if parent else self.model, leaf, module)
        else:
            self.int8_error = float(cached["relative_error"])
            if self.int8_error <= INT8_TOLERANCE:
                quantize_modules(self.model, convs=False, linears=True)
        if not self.int8_error <= INT8_TOLERANCE:
            self.precision = "fp32"
            log.warning("embedder %s: int8 features differ %.3g from fp32 (> %g); its linear layers stay fp32",
                        self.name, self.int8_error, INT8_TOLERANCE)

    def _forward(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B, T, dim)."""
        if self.normalize_input:
            audio = (audio - audio.mean(-1, keepdim=True)) / torch.sqrt(audio.var(-1, keepdim=True) + 1e-7)
        need_hidden = self.layer is not None or self.mix is not None
        out = self.model(audio.to(self.dtype), output_hidden_states=need_hidden)
        n_layers = self.model.config.num_hidden_layers

        def hidden(i: int) -> torch.Tensor:
            return out.last_hidden_state if i == n_layers else out.hidden_states[i]

        if self.mix is not None:
            m = self.mix
            feats = m.ratio * hidden(m.layer_a).float() + (1.0 - m.ratio) * hidden(m.layer_b).float()
            feats = feats.to(self.dtype)
        elif self.layer is not None:
            feats = hidden(self.layer)
        else:
            feats = out.last_hidden_state
        if self.version == "v1":
            feats = self.model.final_proj(feats)
        return feats


def load_hubert(name: str, *, path=None, version="v2", layer=None, mix=None, device="cpu",
                precision="fp32") -> HubertEmbedder:
    model_path = resolve_model_path(name, path)
    model, has_proj = load_hubert_model(model_path)
    label = f"custom:{model_path}" if name == "custom" else name
    return HubertEmbedder(model, has_proj, name=label, version=version, layer=layer, mix=LayerMix.parse(mix),
                          device=device, precision=precision)


__all__ = ["HubertEmbedder", "load_hubert", "load_hubert_model", "normalize_keys"]
