"""What ``model-info`` prints: a JSON-ready description of a model file (or of a G_/D_ checkpoint)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from arvc.formats.checkpoints import checkpoint_from_dict
from arvc.formats.rvc_pth import CONFIG_FIELD_NAMES, SAFETENSORS_SUFFIX, model_from_dict, read_model, weights_sha256
from arvc.formats.safe_load import safe_torch_load


def describe_file(path: str | os.PathLike) -> dict[str, Any]:
    """:func:`describe_model` for inference models, :func:`describe_sovits` for so-vits-svc voices (a folder, or a
    ``G_*.pth`` with ``config.json`` beside it), :func:`describe_checkpoint` for other G_/D_ checkpoints."""
    from arvc.formats.sovits import is_sovits_checkpoint

    path = Path(path)
    if path.is_dir():
        return describe_sovits(path)
    if path.suffix.lower() == SAFETENSORS_SUFFIX:
        return describe_model(path)
    raw = safe_torch_load(path, what="model")
    if is_sovits_checkpoint(raw) and (path.parent / "config.json").is_file():
        return describe_sovits(path)
    if isinstance(raw, dict) and "model" in raw and "weight" not in raw:
        return describe_checkpoint(path, raw)
    return describe_model(path, raw)


def describe_checkpoint(path: Path, raw: Any) -> dict[str, Any]:
    ck = checkpoint_from_dict(raw, path)
    return {
        "file": str(path),
        "file_bytes": path.stat().st_size,
        "type": f"training checkpoint ({ck.kind})",
        "iteration (epoch)": ck.iteration,
        "learning_rate": ck.learning_rate,
        "has_optimizer_state": ck.optimizer is not None,
        "scaler": ck.scaler,
        "n_tensors": len(ck.model),
        "n_params": sum(int(t.numel()) for t in ck.model.values()),
        "dtypes": dict(Counter(str(t.dtype).removeprefix("torch.") for t in ck.model.values())),
        "content_dim": int(ck.model["enc_p.emb_phone.weight"].shape[1]) if "enc_p.emb_phone.weight" in ck.model else None,
        "speakers": int(ck.model["emb_g.weight"].shape[0]) if "emb_g.weight" in ck.model else None,
    }


def describe_sovits(path: str | os.PathLike, config: str | os.PathLike | None = None) -> dict[str, Any]:
    """Architecture, rate, encoder and speakers of a so-vits-svc voice (folder or G_*.pth + config.json)."""
    from arvc.formats.sovits import read_sovits

    m = read_sovits(path, config)
    c = m.config
    groups: Counter[str] = Counter()
    for k, t in m.weights.items():
        groups[k.split(".", 1)[0]] += int(t.numel())
    return {
        "file": str(m.path),
        "file_bytes": m.path.stat().st_size,
        "type": "so-vits-svc voice",
        "architecture": f"so-vits-svc {c.version}",
        "config": str(m.config_path),
        "sample_rate": c.sample_rate,
        "hop_length": c.hop_length,
        "speech_encoder": c.speech_encoder,
        "content_dim": c.ssl_dim,
        "speakers": c.n_speakers,
        "speaker_names": c.speaker_names(),
        "vol_embedding": c.vol_embedding,
        "flow": f"4 couplings, WaveNet of {c.n_flow_layer} layers" + (" (shared)" if c.flow_share_parameter else ""),
        "step": m.step,
        "cluster_model": str(m.cluster_path) if m.cluster_path else None,
        "index": str(m.index_path) if m.index_path else None,
        "training_only": m.ignored,
        "n_tensors": len(m.weights),
        "n_params": m.n_params,
        "params_by_module": dict(groups),
        "weights_sha256": weights_sha256(m.weights),
    }


def describe_model(path: str | os.PathLike, raw: Any = None) -> dict[str, Any]:
    """Metadata, architecture, parameter counts and hashes of an RVC model file (ArvcError if it is not one)."""
    path = Path(path)
    m = read_model(path) if raw is None else model_from_dict(raw, path)
    md = m.metadata
    dtypes = Counter(str(t.dtype).removeprefix("torch.") for t in m.weights.values())
    groups: Counter[str] = Counter()
    for k, t in m.weights.items():
        groups[k.split(".", 1)[0]] += int(t.numel())
    return {
        "file": str(path),
        "file_bytes": path.stat().st_size,
        "model_name": md.model_name,
        "author": md.author,
        "creation_date": md.creation_date,
        "sample_rate": md.sr,
        "version": md.version,
        "f0": md.f0,
        "vocoder": md.vocoder,
        "embedder_model": md.embedder_model,
        "epoch": md.epoch,
        "step": md.step,
        "dataset_length": md.dataset_length,
        "overtrain_info": md.overtrain_info,
        "info": md.info,
        "pretrain": md.pretrain,
        "speakers": m.n_speakers,
        "speakers_id": md.speakers_id,
        "hop_length": m.config.hop_length,
        "content_dim": m.config.content_dim,
        "n_tensors": len(m.weights),
        "n_params": m.n_params,
        "params_by_module": dict(groups),
        "dtypes": dict(dtypes),
        "config": dict(zip(CONFIG_FIELD_NAMES, m.config_list)),
        "config_list": m.config_list,
        "model_hash": md.model_hash,
        "weights_sha256": weights_sha256(m.weights),
    }


def format_description(d: dict[str, Any]) -> str:
    """Human-readable text of :func:`describe_file`'s dict."""
    def fmt(v: Any) -> str:
        return "-" if v is None else str(v)

    if "type" in d:  # a checkpoint or a so-vits voice: one line per entry
        return "\n".join(f"{k:<20}{fmt(v)}" for k, v in d.items())

    lines = [
        f"file            {d['file']} ({d['file_bytes'] / 1e6:.2f} MB)",
        f"name            {fmt(d['model_name'])}   author {fmt(d['author'])}   created {fmt(d['creation_date'])}",
        f"sample rate     {d['sample_rate']} Hz   hop {d['hop_length']}",
        f"version         {d['version']} (content dim {d['content_dim']})",
        f"pitch (f0)      {'yes' if d['f0'] else 'no'}",
        f"vocoder         {d['vocoder']}",
        f"embedder        {d['embedder_model'] or 'not stored (RVC default: contentvec)'}",
        f"epoch / step    {fmt(d['epoch'])} / {fmt(d['step'])}",
        f"dataset length  {fmt(d['dataset_length'])}",
        f"speakers        {d['speakers']} (speakers_id {fmt(d['speakers_id'])})",
        f"parameters      {d['n_params']:,} in {d['n_tensors']} tensors ({', '.join(f'{k} {v:,}' for k, v in d['params_by_module'].items())})",
        f"dtypes          {', '.join(f'{k} x{v}' for k, v in d['dtypes'].items())}",
    ]
    if d.get("overtrain_info"):
        lines.append(f"overtrain info  {d['overtrain_info']}")
    if d.get("info"):
        lines.append(f"info            {d['info']}")
    if d.get("pretrain"):
        lines.append(f"pretrain        {d['pretrain']}")
    lines.append("config          " + ", ".join(f"{k}={v}" for k, v in d["config"].items()))
    lines.append(f"model_hash      {fmt(d['model_hash'])}")
    lines.append(f"weights sha256  {d['weights_sha256']}")
    return "\n".join(lines)
