"""arvc: Retrieval-based Voice Conversion toolkit (preprocess, extract, index, train, infer)."""

__version__ = "0.1.0"
