"""Follow-up questions: rewrite "那工业增加值呢？" into a query that can be searched alone.

Retrieval sees one query at a time, so an elliptical follow-up ("那工业增加值呢？",
"它的投资是多少", "What about exports?") would search for the wrong thing. The rule
here is small and visible (the app shows the rewritten query in small print):

1. A question is a *follow-up* when there is a previous turn and it is elliptical:
   it starts with a linking word or pronoun (那/那么/还有/另外/它/他们/这个/该…,
   "what about", "and", "it"…), ends in 呢, or has at most four content characters.
2. The *subject* of the previous turn is its named entities (jieba POS ns/nr/nt/nz,
   and words ending in 镇/县/市/省/村…, adjacent ones merged); when it has none, its
   longest nouns. The previous turn is the query that was actually searched, so a
   subject carries through a chain of follow-ups.
3. A follow-up without a subject of its own gets the previous subject prepended
   ("周庄镇 工业增加值"); a pronoun standing for it is replaced. A follow-up that
   names a new place or organisation and nothing else ("那修武县呢？") keeps the
   previous topic with the new subject; one that names only a new date ("那2020年
   呢？") keeps the previous question with the new date.
4. Anything else is searched as asked.

No model is involved: the rule is cheap, predictable and explainable in one line.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .dates import dates_in_question
from .language import detect_language
from .textnorm import STOPWORDS, to_simplified

__all__ = ["Subject", "is_followup", "rewrite_followup", "subject_of"]

ENTITY_TAGS = frozenset({"ns", "nr", "nrt", "nrfg", "nt", "nz"})
NOUN_TAGS = frozenset({"n", "nz", "vn", "ns", "nt", "nr", "nrt", "nrfg", "nl", "ng", "eng"})
# Suffixes of place and organisation names jieba often tags as plain nouns.
PLACE_SUFFIXES = ("镇", "县", "市", "省", "村", "乡", "区", "州", "府", "局", "厅", "委", "院", "部", "公司", "集团", "大学")
LEAD_MARKERS = ("那么", "那末", "那", "还有", "另外", "以及", "此外", "同时", "而", "和", "与")
PRONOUNS = ("它们", "他们", "她们", "它", "他", "她", "其", "该", "这个", "这些", "那个", "那些", "此", "这", "本")
EN_LEAD = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\b|^\s*and\b|^\s*what\s+of\b", re.I)
EN_PRONOUN = re.compile(r"\b(it|its|they|their|them|he|his|she|her|there|that|this|these|those)\b", re.I)
EN_QUESTION_WORDS = frozenset(
    "what how who when where which why did does do is are was were the a an in on of and about "
    "can could would should will tell show give list i".split()
)
MAX_CONTENT_CHARS = 4  # "税收呢" is elliptical even without a linking word
MAX_FOLLOWUP_CHARS = 16  # longer questions are taken to stand on their own
MAX_FOLLOWUP_WORDS = 8  # the same for English

_lock = threading.Lock()

# Why a question was rewritten, in the question's language (shown under the answer).
REASONS = {
    "zh": {"new_date": "追问：沿用上一问，日期换成「{x}」", "new_subject": "追问：沿用上一问的问题，主题换成「{x}」",
           "pronoun": "追问：把「{p}」换成{what}「{x}」", "missing": "追问：补上上一问的{what}「{x}」",
           "entities": "主题", "keywords": "关键词", "sep": "、"},
    "en": {"new_date": "Follow-up: the previous question, with the date {x}",
           "new_subject": "Follow-up: the previous question, about {x}",
           "pronoun": "Follow-up: \"{p}\" replaced by the previous {what} {x}",
           "missing": "Follow-up: added the previous {what} {x}", "entities": "subject", "keywords": "keywords",
           "sep": ", "},
}


@dataclass(frozen=True)
class Subject:
    """What a turn is about: its entities (or longest nouns) and the rest (its topic)."""

    terms: tuple[str, ...]
    from_entities: bool
    topic: str


@lru_cache(maxsize=1)
def _posseg() -> Any:
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


def _tag(text: str) -> list[tuple[str, str]]:
    """(word, POS) pairs with the words in the original script: tagging runs on the
    simplified text (jieba knows simplified better), mapped back by position."""
    norm = to_simplified(unicodedata.normalize("NFKC", text))
    src = text if len(norm) == len(text) else norm
    with _lock:
        pairs = [(w.word, w.flag) for w in _posseg().cut(norm)]
    out, i = [], 0
    for word, flag in pairs:
        out.append((src[i : i + len(word)], flag))
        i += len(word)
    return out


def _content(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def _is_entity(word: str, flag: str) -> bool:
    if len(_content(word)) < 2 or word in STOPWORDS:
        return False
    return flag in ENTITY_TAGS or (flag.startswith("n") and to_simplified(word).endswith(PLACE_SUFFIXES))


def _is_new_subject(word: str, flag: str) -> bool:
    """Entities strong enough to replace the previous subject. jieba tags many plain
    two-character nouns as person names (荣誉/nr), so a bare `nr` must be 3+ characters."""
    if not _is_entity(word, flag):
        return False
    return flag != "nr" or len(word) >= 3


def _english_entities(text: str) -> list[str]:
    """Capitalised words (and runs of them) that are not question words."""
    out = []
    for m in re.finditer(r"\b[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*", text):
        words = [w for w in m.group(0).split() if w.lower() not in EN_QUESTION_WORDS]
        if words:
            out.append(" ".join(words))
    return out


def subject_of(text: str) -> Subject:
    """The entities of `text` (adjacent ones merged, e.g. 蔡|英文), else its longest
    nouns; `topic` is the text without them."""
    tagged = _tag(text)
    terms: list[str] = []
    prev_entity = False
    for word, flag in tagged:
        ent = _is_entity(word, flag) or (flag == "nr" and len(word) == 1)
        if ent and prev_entity and terms:
            terms[-1] += word
        elif ent:
            terms.append(word)
        prev_entity = ent
    terms = [t for t in terms if len(_content(t)) >= 2]
    terms += [e for e in _english_entities(text) if e not in terms]
    from_entities = bool(terms)
    if not terms:
        date_range, _ = dates_in_question(text)
        nouns = [w for w, f in tagged if f in NOUN_TAGS and len(_content(w)) >= 2 and w not in STOPWORDS
                 and not (date_range and w in date_range.text)]
        nouns = sorted(dict.fromkeys(nouns), key=lambda w: -len(w))[:2]
        terms = [w for w in dict.fromkeys(w for w, _ in tagged) if w in nouns]  # keep text order
    topic = text
    for t in terms:
        topic = topic.replace(t, "", 1)
    return Subject(tuple(dict.fromkeys(terms)), from_entities, topic.strip(" ，,"))


def _strip_markers(q: str) -> tuple[str, str | None]:
    """The follow-up without its leading link word and trailing 呢, and the pronoun it
    starts with (if any)."""
    s = q.strip()
    m = EN_LEAD.match(s)
    if m:
        s = s[m.end() :].strip()
    for w in LEAD_MARKERS:
        if s.startswith(w) and len(s) > len(w):
            s = s[len(w) :].lstrip("，, ")
            break
    pronoun = None
    for p in PRONOUNS:
        if s.startswith(p) and len(s) > len(p):
            pronoun, s = p, s[len(p) :]
            break
    s = re.sub(r"[的]?呢?\s*[？?。.!！]*$", "", s).strip()
    return s, pronoun


def is_followup(question: str) -> bool:
    """Whether `question` looks elliptical (needs the previous turn to be understood)."""
    q = question.strip()
    content = _content(q)
    english = bool(re.search(r"[A-Za-z]{2}", q)) and not re.search(r"[\u4e00-\u9fff]", q)
    too_long = len(q.split()) > MAX_FOLLOWUP_WORDS if english else len(content) > MAX_FOLLOWUP_CHARS
    if not content or too_long and not EN_LEAD.match(q):
        return False
    if EN_LEAD.match(q) or re.search(r"呢\s*[？?。.!！]*$", q):
        return True
    if any(q.startswith(w) for w in LEAD_MARKERS + PRONOUNS):
        return True
    if english:
        return bool(EN_PRONOUN.search(q)) or len(q.split()) <= 2
    return len(content) <= MAX_CONTENT_CHARS


def _turn_text(turn: str | Mapping[str, Any]) -> str | None:
    if isinstance(turn, str):
        return turn
    if isinstance(turn, Mapping) and turn.get("role", "user") == "user":
        content = turn.get("content")
        return content if isinstance(content, str) else None
    return None


def _reason(q: str, key: str, **values: str) -> str:
    table = REASONS[detect_language(q)]  # the rule Answer.language uses: a reply never mixes
    if "what" in values:
        values["what"] = table[values["what"]]
    return table[key].format(**values)


def rewrite_followup(question: str, history: Sequence[str | Mapping[str, Any]]) -> tuple[str, str]:
    """The query to search for `question` given the earlier turns, and why.

    Args:
        question: what the user just asked.
        history: earlier turns, oldest first: the queries that were searched (strings),
            or chat messages `{"role": "user", "content": ...}` (other roles ignored).

    Returns:
        `(query, reason)`; `reason` is "" when the question is searched as asked.

    Example:
        >>> rewrite_followup("那工业增加值呢？", ["周庄镇2021年累计完成税收多少？"])[0]
        '周庄镇 工业增加值'
    """
    q = question.strip()
    previous = [t for t in (_turn_text(h) for h in history) if t and t.strip()]
    if not previous or not is_followup(q):
        return q, ""
    prev = previous[-1].strip()
    subject = subject_of(prev)
    rest, pronoun = _strip_markers(q)
    # a new date only: "那2020年呢？" -> the previous question at that date
    new_date, without_date = dates_in_question(rest)
    if new_date and not _content(without_date):
        old_date, _ = dates_in_question(prev)
        query = prev.replace(old_date.text, new_date.text, 1) if old_date else f"{new_date.text}{prev}"
        return query, _reason(q, "new_date", x=new_date.text)
    if not subject.terms:
        return q, ""
    named = [t for t in subject.terms if to_simplified(t) in to_simplified(q)]
    if named and (subject.from_entities or len(named) == len(subject.terms)):
        return q, ""  # the user named the subject again
    own = [w for w, f in _tag(rest) if _is_new_subject(w, f)] + _english_entities(rest)
    if own and not _content(rest.replace(own[0], "", 1).replace("的", "")):
        topic = subject.topic if subject.from_entities else prev
        return f"{own[0]} {topic}".strip(), _reason(q, "new_subject", x=own[0])
    if own:
        return q, ""  # a new question about its own subject
    missing = [t for t in subject.terms if t not in named]
    names = " ".join(missing)
    en_pronoun = EN_PRONOUN.search(rest) if re.search(r"[A-Za-z]", rest) else None
    if en_pronoun:  # "What did it spend" -> "What did Zhouzhuang spend"
        query = f"{rest[: en_pronoun.start()]}{names}{rest[en_pronoun.end() :]}"
        pronoun = en_pronoun.group(0)
    elif pronoun:  # "它的党委书记" -> "周庄镇的党委书记"
        query = f"{names}{rest}"
    else:
        query = f"{names} {rest}".strip() if rest else names
    what = "entities" if subject.from_entities else "keywords"
    sep = REASONS[detect_language(q)]["sep"]
    if pronoun:
        return query, _reason(q, "pronoun", p=pronoun, what=what, x=sep.join(missing))
    return query, _reason(q, "missing", what=what, x=sep.join(missing))
