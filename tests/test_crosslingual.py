"""English questions over Chinese text: the CC-CEDICT translation of a question's words and
the keyword side it feeds. Real dictionary, real model, real archive of XQuAD paragraphs."""

from __future__ import annotations

import json

import pytest

from qa import Archive
from qa.crosslingual import keyword_confidence, keyword_scores, translate


def _group(question: str, source: str):
    return next(g for g in translate(question) if g.source == source)


def test_words_phrases_inflections_and_numbers():
    q = "Who won the Super Bowl in 2016?"
    groups = translate(q)
    assert "超级 碗" in _group(q, "super bowl").terms  # a two-word gloss, as the index's tokens
    assert {"赢得", "获胜"} & set(_group(q, "won").terms)  # irregular past -> win (not the Korean won)
    assert _group(q, "2016").terms == ("2016",) and not _group(q, "2016").translated
    assert not {"who", "the", "in"} & {g.source for g in groups}  # stop words are not searched
    assert "发现" in _group("Where were the fossils found?", "found").terms
    assert "化石" in _group("Where were the fossils found?", "fossils").terms  # plural
    assert "帮助" in _group("Who helped him?", "helped").terms  # -ed


def test_a_word_counts_once_however_many_of_its_translations_a_chunk_holds():
    q = "Which river runs through the city?"
    assert len(_group(q, "river").terms) > 1
    texts = {
        1: "这条江河是一条大河，河流很长，江水很深。",  # several translations of "river" only
        2: "这座城市有一条河流穿过。",  # "river" and "city"
    }
    scores = keyword_scores(translate(q), texts)
    assert scores[2] > scores[1]


def test_translations_of_several_words_in_one_sentence_count_more():
    """Same words, same counts, same length: the chunk whose sentence holds both "river" and
    "city" outranks the one where they only meet in the chunk."""
    q = "Which river runs through the city?"
    texts = {
        1: "这座城市很大。那里有一条河流。",  # city and river in different sentences
        2: "这座城市有一条河流。那里很大。",  # city and river in one sentence
        3: "今天的天气很好。",
    }
    scores = keyword_scores(translate(q), texts)
    assert scores[2] > scores[1] > scores[3]


def test_untranslated_words_lower_the_keyword_side_s_weight():
    known = translate("Where is the university?")
    with_name = translate("Where is Kuechly's university?")
    assert not _group("Where is Kuechly's university?", "kuechly").translated
    assert keyword_confidence(with_name) < keyword_confidence(known)


@pytest.fixture(scope="module")
def xquad_archive(shared_eval, tmp_path_factory, encoder):
    """Ten Chinese XQuAD paragraphs of two articles (Super Bowl 50, Iran's oil and the 1973 crisis)."""
    d = tmp_path_factory.mktemp("xquad")
    src = d / "paragraphs.jsonl"
    with open(shared_eval / "xquad_en_zh_dev.corpus.jsonl", encoding="utf-8") as f:
        rows = [r for r in map(json.loads, f) if r["doc_id"].startswith(("xquad-00-", "xquad-13-"))]
    src.write_text("".join(json.dumps({"id": r["doc_id"], "title": r["title"], "text": r["text"]},
                                      ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    with Archive.open(d / "archive") as a:
        assert not a.ingest([src]).failed
    a = Archive.open(d / "archive")
    yield a
    a.close()


def test_english_question_is_answered_from_the_right_chinese_paragraph(xquad_archive):
    """Dense alone ranks two other paragraphs of the article first; the translated keyword
    side (oil 石油, ally 盟友, United States 美国) brings the one with the answer first."""
    q = "Which oil producer is a close ally of the United States?"
    dense = [h.article_id for h in xquad_archive.search(q, k=5, mode="dense")]
    assert dense.index("xquad-13-0") > 0
    ans = xquad_archive.ask(q)
    assert ans.found and ans.language == "en"
    assert ans.best.citation.article_id == "xquad-13-0"
    assert "伊朗" in ans.best.highlight and "盟友" in ans.best.highlight


def test_english_keyword_search_finds_chinese_text(xquad_archive):
    hits = xquad_archive.search("Which oil producer is a close ally of the United States?", k=3, mode="keyword")
    assert hits and hits[0].article_id == "xquad-13-0"


@pytest.mark.parametrize("question", ["What is the boiling point of water?", "How do I bake sourdough bread?"])
def test_unrelated_english_question_is_declined(sample_archive_ro, question):
    ans = sample_archive_ro.ask(question)
    assert not ans.found and ans.language == "en"
