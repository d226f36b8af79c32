"""The pipeline version: what decides the chunks, vectors and keyword terms an article gets.

An archive records it (meta `pipeline`, and per article), and every content hash includes
it, so a change to chunking, normalisation, segmentation or the indexed-text recipe is
noticed instead of silently mixing old and new chunking in one archive: `Archive.open`
says how many articles an older pipeline indexed and `qa reindex` redoes exactly those.

Bump a version below when the code it names changes its output. `tests/test_archive.py`
pins a fingerprint of each stage's output on probe texts, so a change that forgets the
bump fails a test.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from functools import lru_cache
from importlib import metadata
from typing import Any

CHUNKER_VERSION = 1  # qa/chunk.py: sentence splitting and chunk boundaries
NORMALIZER_VERSION = 1  # qa/textnorm.py: normalize() and segment() (what FTS5 indexes)
PASSAGE_TEXT_VERSION = 2  # qa/archive.py passage_text(): what is embedded and indexed per chunk
# 2: a title derived from the article's opening (untitled records) is no longer prepended


@lru_cache(maxsize=None)
def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def pipeline_spec(chunk_chars: int, overlap_sentences: int) -> dict[str, Any]:
    """The settings and versions that decide an article's chunks and terms (no imports of
    jieba or opencc: the versions come from package metadata)."""
    return {
        "chunk_chars": int(chunk_chars),
        "overlap_sentences": int(overlap_sentences),
        "chunker": CHUNKER_VERSION,
        "normalizer": f"{NORMALIZER_VERSION}+opencc-{_dist_version('opencc-python-reimplemented')}"
                      f"+unicode-{unicodedata.unidata_version}",
        "segmenter": f"jieba-{_dist_version('jieba')}",
        "passage_text": PASSAGE_TEXT_VERSION,
    }


def pipeline_id(spec: dict[str, Any]) -> str:
    """A short stable id of a pipeline spec (12 hex digits)."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def describe_change(old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """`chunker 1 -> 2, chunk_chars 300 -> 200`: what differs (for messages)."""
    if not old:
        return "indexed before pipeline versions were recorded"
    diffs = [f"{k} {old.get(k)} -> {v}" for k, v in new.items() if old.get(k) != v]
    return ", ".join(diffs) or "same settings"
