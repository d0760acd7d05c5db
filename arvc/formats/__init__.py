"""RVC model files: safe loading, the inference ``.pth``, G/D checkpoints, safetensors, merge and ONNX export."""

from arvc.formats.checkpoints import Checkpoint, load_checkpoint, save_checkpoint
from arvc.formats.merge import merge_models
from arvc.formats.naming import to_legacy_names, to_module_names
from arvc.formats.rvc_pth import (
    ModelFile,
    ModelMetadata,
    applio_model_hash,
    load_synthesizer,
    load_weights_into,
    read_model,
    weights_sha256,
    write_model,
)
from arvc.formats.safe_load import safe_torch_load
from arvc.formats.onnx_export import export_onnx
from arvc.formats.safetensors_io import load_safetensors, save_safetensors
from arvc.formats.summary import describe_file

__all__ = [
    "Checkpoint",
    "ModelFile",
    "ModelMetadata",
    "applio_model_hash",
    "describe_file",
    "export_onnx",
    "load_checkpoint",
    "load_safetensors",
    "load_synthesizer",
    "load_weights_into",
    "merge_models",
    "read_model",
    "safe_torch_load",
    "save_checkpoint",
    "save_safetensors",
    "to_legacy_names",
    "to_module_names",
    "weights_sha256",
    "write_model",
]
