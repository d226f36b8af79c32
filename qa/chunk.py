"""Sentence-aware chunking of Chinese (and mixed) article text.

Chunks are made of whole sentences, about `target_chars` long, overlapping by
`overlap_sentences` so an answer split across a boundary is still found whole. Each
chunk keeps its character span in the article, so a citation can point into it and the
chunk text is always exactly `article_text[start:end]`.
"""

from __future__ import annotations

from dataclasses import dataclass

TERMINATORS = frozenset("。！？；!?;…")
OPENING_QUOTES = {"“": "”", "「": "」", "『": "』", "‘": "’", "《": "》", "（": "）", "(": ")"}
CLOSERS = frozenset("”」』’》）)\"'")


@dataclass(frozen=True)
class Chunk:
    """A piece of an article: `text == article_text[start:end]`."""

    ordinal: int
    start: int
    end: int
    text: str


def split_sentences(text: str, max_chars: int = 600) -> list[tuple[int, int]]:
    """Sentence spans `(start, end)` covering the non-blank text.

    A sentence ends after 。！？；!?… (plus any closing quotes or brackets right after it)
    or at a line break. A terminator inside “…” / 「…」 does not end the sentence, so a
    quotation stays whole; a line break always does (quotes left open across paragraphs
    are common in speeches). Sentences longer than `max_chars` are cut at the last comma
    or terminator before the limit, else at the limit.
    """
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = 0
    i = 0
    stack: list[str] = []

    def emit(s: int, e: int) -> None:
        # trim surrounding whitespace, then cut over-long sentences
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        while e - s > max_chars:
            cut = _soft_cut(text, s, s + max_chars)
            spans.append((s, cut))
            s = cut
            while s < e and text[s].isspace():
                s += 1
        if e > s:
            spans.append((s, e))

    while i < n:
        ch = text[i]
        if ch == "\n":
            emit(start, i)
            stack.clear()
            start = i + 1
        elif ch in OPENING_QUOTES and ch not in ("(",):
            stack.append(OPENING_QUOTES[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
            if not stack and i > 0 and text[i - 1] in TERMINATORS and ch in "”」』’":
                j = i + 1
                while j < n and text[j] in CLOSERS:
                    j += 1
                emit(start, j)
                start = i = j
                continue
        elif ch in TERMINATORS and not stack:
            j = i + 1
            while j < n and (text[j] in TERMINATORS or text[j] in CLOSERS):
                j += 1
            emit(start, j)
            start = i = j
            continue
        i += 1
    emit(start, n)
    return spans


def _soft_cut(text: str, s: int, limit: int) -> int:
    """Best place to cut an over-long sentence before `limit`: after a comma-like mark."""
    for j in range(limit - 1, s + (limit - s) // 2, -1):
        if text[j] in "，,、：:；;。！？!?":
            return j + 1
    return limit


def chunk_text(text: str, target_chars: int = 300, overlap_sentences: int = 1) -> list[Chunk]:
    """Group sentences into chunks of about `target_chars`, overlapping by whole sentences.

    Args:
        text: the article body.
        target_chars: a chunk is closed before it would grow past this (a single longer
            sentence becomes its own chunk, cut at `2 * target_chars`).
        overlap_sentences: sentences repeated at the start of the next chunk.

    Returns:
        Chunks in order; empty for blank text.

    Example:
        >>> [c.text for c in chunk_text("第一句。第二句。", target_chars=5, overlap_sentences=0)]
        ['第一句。', '第二句。']
    """
    if target_chars < 20:
        raise ValueError(f"target_chars must be at least 20, got {target_chars}")
    if overlap_sentences < 0:
        raise ValueError(f"overlap_sentences must be >= 0, got {overlap_sentences}")
    sents = split_sentences(text, max_chars=2 * target_chars)
    chunks: list[Chunk] = []
    i = 0
    next_new = 0  # first sentence not yet in any chunk: every chunk must add one
    while i < len(sents):
        j = max(i + 1, next_new + 1)
        while j < len(sents) and sents[j][1] - sents[i][0] <= target_chars:
            j += 1
        # never leave a tiny tail: absorb it if the result stays within 1.5x target
        if j < len(sents) and len(sents) - j <= 2 and sents[-1][1] - sents[i][0] <= target_chars * 1.5:
            j = len(sents)
        s, e = sents[i][0], sents[j - 1][1]
        chunks.append(Chunk(len(chunks), s, e, text[s:e]))
        if j >= len(sents):
            break
        next_new = j
        i = max(j - overlap_sentences, i + 1)
    return chunks
