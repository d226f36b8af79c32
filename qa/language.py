"""Which language a question is written in, for the words a reply adds around the answer
(not-found message, notes, labels) and for abstention (a question in another language than
the archive has no words in common with it, so only its meaning can be compared).

Only the two languages the product speaks are told apart: Chinese (simplified or
traditional) and English. The rule counts Han characters against Latin-script words: an
English question naming a Chinese place ("What did 马英九 say?") is English; a Chinese one
with an acronym or a number ("GDP增长了多少？", "2021年税收") is Chinese. Text with neither
(digits, punctuation) counts as Chinese, the archive's own language.
"""

from __future__ import annotations

import re

from .records import Language

_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z]+)?")


def detect_language(text: str) -> Language:
    """"zh" or "en": "en" when the text has more Latin-script words than Han characters."""
    han = len(_HAN_RE.findall(text))
    latin_words = len(_LATIN_WORD_RE.findall(text))
    return "en" if latin_words > han else "zh"
