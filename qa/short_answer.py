"""What a question asks for, and the short span of a sentence that says it.

`expected_type` reads the question word (多少/几 -> number, 何时/哪一年 -> date, 谁 -> person,
哪里 -> place, 哪家/哪个机构 -> organisation). `typed_spans` finds candidate spans of that type
in a sentence: numbers with their unit and dates by pattern (precise), names by jieba's
part-of-speech tags plus a few suffixes (rougher). `pick_short_answer` keeps a candidate only
when it is not already in the question and no other candidate competes with it, so a
span is shown only when the sentence gives one clear answer; otherwise the sentence alone is
shown. Spans are offsets into the sentence as given, never rewritten text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from .records import AnswerType
from .textnorm import normalize

# question patterns, checked on the normalised (simplified, half-width) question; first match wins
_DATE_Q = re.compile(r"何时|什么时候|什么时间|哪一?年|哪一?天|哪一?日|几月|几号|何年|哪个年代|哪一?个?世纪|"
                     r"哪个月|几时|年份|日期|\bwhen\b|what year")
_NUMBER_Q = re.compile(r"多少|几[个位名次种项座家条岁年只台部本所间架艘]?|多大|多高|多长|多重|多远|多深|多宽|多久|"
                       r"多厚|多快|多老|百分之几|\bhow (many|much|long|old|far|tall|high)\b")
_PERSON_Q = re.compile(r"谁|哪位|何人|哪个人|哪一位|什么人物|\bwho\b")
_ORG_Q = re.compile(r"哪[一]?[家个所间]?(公司|机构|组织|大学|学校|银行|团体|政党|党|球队|俱乐部|企业|部门|单位|报|电视台|出版社)|"
                    r"哪家")
_PLACE_Q = re.compile(r"哪里|哪儿|何处|何地|什么地方|哪[一]?[个座]?(国家|城市|省|市|县|地区|国|州|岛|城|镇|村|区|洲)|"
                      r"位于哪|在哪|\bwhere\b")
# questions about who or what the subject is, its other names, or where it is: the opening
# sentence of an article says exactly that (an encyclopedia's lead, a news story's lede). Chinese only:
# "who is"/"what is the"/"where is" over XQuAD's Chinese paragraphs cost 2-8 of 632 questions
_IDENTITY_Q = re.compile(r"是谁|谁是|什么是|是指|指的是|别名|别称|又名|又称|简称|全称|叫什么|在哪|哪里|位于")

_DIGITS = r"[0-9]+(?:[.,][0-9]+)*"
_ZH_NUM = r"[零〇一二两三四五六七八九十百千万亿]+"
_UNIT = (r"(?i:%|％|‰|多?(?:万|亿|千|百)*(?:元|美元|港元|日元|欧元|英镑|人民币|越南盾|块|亿元|万元)|"
         r"平方(?:公里|千米|米|英里)|立方米|公里|千米|公尺|厘米|毫米|英里|英尺|英寸|米|公顷|亩|"
         r"公斤|千克|吨|克|磅|摄氏度|华氏度|度|小时|分钟|秒|天|日|周|个月|月|年|岁|"
         r"人次|人|名|位|个|项|次|座|家|所|间|条|种|只|台|部|本|首|集|场|届|倍|层|艘|架|辆|户|棵|株|"
         r"册|卷|章|节|期|分|票|枚|件|块|片|支|队|国|城|州|省|县|镇|村|区|字|号|代|世纪|余|"
         r"km|cm|mm|kg|m|g|t|mb|gb|kb|hz|mhz|ghz|mph|kw|mw)?(?![a-z])")
_NUMBER_RE = re.compile(
    rf"(?:约|近|超过|逾|达)?(?:{_DIGITS}(?:\s*(?:多|余))?(?:\s*[万亿千百]+)?|{_ZH_NUM}(?=[^\W\d_零〇一二两三四五六七八九十百千万亿]))"
    rf"\s*{_UNIT}")
_DATE_RE = re.compile(
    r"(?:公元前?|西元前?|民国|民國)?(?:[0-9]{1,4}|[零〇一二三四五六七八九十]{2,4})\s*年(?:代|初|底|末)?"
    r"(?:\s*[0-9一二三四五六七八九十]{1,2}\s*月(?:\s*[0-9一二三四五六七八九十]{1,3}\s*[日号])?)?"
    r"|[0-9一二三四五六七八九十]{1,2}\s*月(?:\s*[0-9一二三四五六七八九十]{1,3}\s*[日号])?"
    r"|[0-9一二三四五六七八九十]{1,2}\s*世纪(?:[0-9一二三四五六七八九十]{1,2}\s*年代)?(?:初|中|末|中叶|后期|前期)?"
    r"|[0-9]{4}-[0-9]{1,2}(?:-[0-9]{1,2})?")
_PLACE_SUFFIX = re.compile(r"(?:市|省|县|国|州|镇|村|区|岛|洲|城|港|湾|山|河|湖|海|路|街|乡|郡|府|道)$")
_ORG_SUFFIX = re.compile(r"(?:公司|集团|银行|大学|学院|学校|中学|医院|协会|委员会|政府|部|局|署|厅|党|会|社|台|馆|院|所|队|俱乐部|基金会|组织)$")
_POS_OF = {"person": ("nr",), "place": ("ns",), "organisation": ("nt",)}


def expected_type(question: str) -> AnswerType | None:
    """The kind of answer the question asks for, or None (why/how/what questions)."""
    q = normalize(question)
    if _DATE_Q.search(q):
        return "date"
    if _PERSON_Q.search(q):
        return "person"
    if _ORG_Q.search(q):
        return "organisation"
    if _PLACE_Q.search(q):
        return "place"
    if _NUMBER_Q.search(q):
        return "number"
    return None


def asks_identity(question: str) -> bool:
    """Whether the question asks who or what its subject is, what else it is called, or where
    it is (什么是暴发户, 王法慧是谁的女儿, 蓍的别名是什么, 乌石渔港在哪里)."""
    return bool(_IDENTITY_Q.search(normalize(question)))


@lru_cache(maxsize=1)
def _posseg():
    from .textnorm import _jieba

    _jieba()  # initialised once, thread-safe
    import jieba.posseg

    return jieba.posseg


def _common_words() -> frozenset[str]:
    from .crosslingual import common_words

    return common_words()


def _name_spans(sentence: str, kind: AnswerType) -> list[tuple[int, int]]:
    """Names of `kind` by part-of-speech tag (or place/organisation suffix), as offsets.
    Tags are computed on the normalised sentence; offsets are kept only where
    normalisation kept the length (else no span: never guess)."""
    norm = normalize(sentence)
    if len(norm) != len(sentence):
        return []
    tags = _POS_OF[kind]
    out, pos = [], 0
    for pair in _posseg().cut(norm):
        w, flag = pair.word, pair.flag
        s, pos = pos, pos + len(w)
        if len(w) < 2:
            continue
        if kind == "person" and flag in tags and w in _common_words():
            continue  # a common word jieba's dictionary tags as a name (荣幸 "honoured")
        if flag in tags or (kind == "place" and flag in ("ns", "nr") and _PLACE_SUFFIX.search(w)) or (
                kind == "organisation" and flag.startswith("n") and _ORG_SUFFIX.search(w)):
            out.append((s, pos))
    return out


def typed_spans(sentence: str, kind: AnswerType) -> list[tuple[int, int]]:
    """Candidate spans of `kind` in `sentence`, left to right (offsets into `sentence`)."""
    if kind == "number":
        spans = [m.span() for m in _NUMBER_RE.finditer(sentence)]
        dates = [m.span() for m in _DATE_RE.finditer(sentence)]
        # a year is not a quantity: drop numbers that are part of a date
        return [(s, e) for s, e in spans if e > s and not any(ds <= s and e <= de for ds, de in dates)]
    if kind == "date":
        return [m.span() for m in _DATE_RE.finditer(sentence) if m.end() > m.start()]
    return _name_spans(sentence, kind)


def has_type(sentence: str, kind: AnswerType | None, question: str, terms: Sequence[str] = (),
             near: int | None = None) -> bool:
    """Whether the sentence holds a span of `kind` that the question does not already say;
    with `near`, only one within `near` characters of a question term (`terms`, normalised):
    the figure next to the word that names what it measures, not any figure (jieba's name tags
    and a long sentence's stray numbers make "any" too loose)."""
    if kind is None:
        return False
    at = _term_spans(sentence, terms) if near is not None else None
    if at == []:  # no question term in the sentence: nothing is next to one (and no tagging to pay for)
        return False
    cands = _fresh(sentence, typed_spans(sentence, kind), question)
    if not cands or near is None or at is None:  # at None: offsets unknown, keep the loose rule
        return bool(cands)
    return any(max(s - te, ts - e, 0) <= near for s, e in cands for ts, te in at)


def _term_spans(sentence: str, terms: Sequence[str]) -> list[tuple[int, int]] | None:
    """Where the (normalised) question terms of two or more characters occur in `sentence`;
    None when normalisation changed its length (offsets would be wrong)."""
    norm = normalize(sentence)
    if len(norm) != len(sentence):
        return None
    return [(m.start(), m.start() + len(t)) for t in terms if len(t) > 1 for m in re.finditer(re.escape(t), norm)]


def _fresh(sentence: str, spans: Sequence[tuple[int, int]], question: str) -> list[tuple[int, int]]:
    qn = normalize(question)
    return [(s, e) for s, e in spans if normalize(sentence[s:e]).strip() not in qn]


def pick_short_answer(sentence: str, question: str, kind: AnswerType | None,
                      terms: Sequence[str] = ()) -> tuple[int, int] | None:
    """The one span of `kind` in `sentence` that answers `question`, or None.

    Candidates the question already says are dropped. One left: it. Several: the one
    nearest to a question term (`terms`, normalised) when it is within a few characters and
    clearly nearer than the others (税收1334万元, not 同比增长12%); else None, and the sentence
    alone is the answer."""
    if kind is None or not sentence:
        return None
    cands = _fresh(sentence, typed_spans(sentence, kind), question)
    if len(cands) > 1:
        cands = _nearest(sentence, cands, terms)
    if len(cands) != 1:
        return None
    s, e = cands[0]
    while s < e and sentence[s].isspace():
        s += 1
    while e > s and sentence[e - 1].isspace():
        e -= 1
    return (s, e) if e > s else None


NEAR_CHARS = 6  # a term this close to a candidate names what the candidate measures


def _nearest(sentence: str, cands: Sequence[tuple[int, int]], terms: Sequence[str]) -> list[tuple[int, int]]:
    at = _term_spans(sentence, terms)
    if not at:
        return list(cands)

    def gap(c: tuple[int, int]) -> int:
        return min(max(c[0] - te, ts - c[1], 0) for ts, te in at)

    ranked = sorted(cands, key=gap)
    g0, g1 = gap(ranked[0]), gap(ranked[1])
    return [ranked[0]] if g0 <= NEAR_CHARS and g1 > g0 else list(cands)
