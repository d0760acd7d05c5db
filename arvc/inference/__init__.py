"""Voice conversion (``arvc infer``): the RVC pipeline, chunking, retrieval blend, envelope, batch conversion.

Imports nothing from ``arvc.training``.
"""

from arvc.inference.config import InferenceConfig

__all__ = ["InferenceConfig", "VoiceConverter"]


def __getattr__(name):
    if name == "VoiceConverter":
        from arvc.inference.pipeline import VoiceConverter

        return VoiceConverter
    raise AttributeError(name)
