"""Text normalisation and word segmentation for the keyword side of retrieval.

Both documents and queries go through `normalize` so that traditional and simplified
Chinese, and full-width and half-width digits and letters, match each other: NFKC folds
full-width forms, OpenCC (t2s) folds traditional characters. jieba segments simplified
Chinese better than traditional, so segmentation runs after conversion. Display text is
never normalised: only what the keyword index and the matching code see.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache

from .errors import BadQueryError, EmptyQueryError

logger = logging.getLogger(__name__)

# Function words and question words that carry no topic; BM25's IDF already damps them,
# dropping them keeps queries short and highlight scoring honest.
STOPWORDS = frozenset(
    """的 了 是 在 和 与 及 或 也 都 而 并 就 对 把 被 从 向 于 以 为 之 其 这 那 这个 那个
    什么 多少 哪 哪个 哪些 哪里 哪一 谁 何 何时 如何 怎么 怎样 为何 为什么 吗 呢 吧 啊 有 个 些
    一 一个 中 上 下 时 年 月 日 后 前 被 由 将 会 能 可 要 该 所 等 得 着 过 又 还 the a an of
    to in on for is are was were be by with and or what which who when where how""".split()
)

_PUNCT_RE = re.compile(r"^[\W_]+$", re.UNICODE)
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC  # opencc-python-reimplemented: pure Python, no build step

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese (OpenCC t2s); other text unchanged."""
    return _t2s().convert(text)


def normalize(text: str) -> str:
    """Fold width (NFKC), script (t2s) and case, for matching only."""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _lock:
        jieba.initialize()
    return jieba


def is_word(token: str) -> bool:
    """True for tokens worth indexing: not whitespace, not punctuation."""
    return bool(token.strip()) and not _PUNCT_RE.match(token)


def segment(text: str) -> list[str]:
    """Normalise and cut into search terms (jieba `cut_for_search`: words plus their
    shorter sub-words, so 周庄镇 also matches 周庄). Punctuation is dropped."""
    return [t for t in _jieba().cut_for_search(normalize(text)) if is_word(t)]


def query_terms(text: str) -> list[str]:
    """Distinct search terms of a query, stopwords removed (kept if nothing else is left)."""
    terms = segment(text)
    seen: dict[str, None] = {}
    for t in terms:
        if t not in STOPWORDS:
            seen.setdefault(t, None)
    if not seen:
        for t in terms:
            seen.setdefault(t, None)
    return list(seen)


def has_content(text: str) -> bool:
    """False for empty input or input without a letter or digit (punctuation, symbols,
    emoji: nothing to search for)."""
    return any(ch.isalnum() for ch in text)


# jieba's cost grows with the square of the text's length (a 20,000-character question took
# 106 s); a question, even a pasted paragraph, is far shorter than this.
MAX_QUERY_CHARS = 1000


def check_query(text: object) -> str:
    """`text` if it can be searched, else `BadQueryError` with a message for the user:
    not a string, not valid Unicode (lone surrogates, from invalid UTF-8 on a command
    line), longer than `MAX_QUERY_CHARS`, or without a letter or digit (`EmptyQueryError`).
    """
    if not isinstance(text, str):
        raise BadQueryError(f"the question must be text, got {type(text).__name__}")
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise BadQueryError("问题含有无效字符（不是有效的 UTF-8 文本，请检查终端编码）。"
                            "(The question is not valid text: invalid UTF-8 or a lone surrogate; check the terminal's encoding.)")
    if len(text) > MAX_QUERY_CHARS:
        raise BadQueryError(f"问题太长（{len(text)} 字，上限 {MAX_QUERY_CHARS} 字）：请缩短成一个问题或几个关键词。"
                            f"(The question is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}.)")
    if not text.strip():
        raise EmptyQueryError("问题是空的：请输入一个问题或几个关键词。(The question is empty.)")
    if not has_content(text):
        raise EmptyQueryError("问题里没有可搜索的文字（只有标点、符号或表情）：请输入一个问题或几个关键词。"
                              "(The question has no letters or digits to search for.)")
    return text
