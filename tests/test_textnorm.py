"""Normalisation: traditional/simplified and full-width/half-width must meet."""

from __future__ import annotations

from qa.textnorm import has_content, normalize, query_terms, segment


def test_traditional_and_simplified_normalise_alike():
    assert normalize("總統接見旅居泰國僑胞代表") == normalize("总统接见旅居泰国侨胞代表")


def test_full_width_digits_and_letters_fold():
    assert normalize("２０２１年ＧＤＰ增长") == normalize("2021年gdp增长")


def test_segment_drops_punctuation_and_finds_sub_words():
    terms = segment("周庄镇党建引领激活乡村振兴，“一池春水”！")
    assert "周庄镇" in terms or "周庄" in terms
    assert "乡村" in terms and "振兴" in terms
    assert not any(t in "，“”！" for t in terms)


def test_query_terms_drop_question_words_but_never_everything():
    assert "多少" not in query_terms("周庄镇完成税收多少？")
    assert "税收" in query_terms("周庄镇完成税收多少？")
    assert query_terms("什么") == ["什么"]


def test_has_content():
    assert not has_content("")
    assert not has_content("？！。，…")
    assert has_content("税收")


# -- questions that cannot be searched: a clear message, never a crash -----------------------

import time  # noqa: E402

import pytest  # noqa: E402

from qa.errors import BadQueryError, EmptyQueryError  # noqa: E402
from qa.textnorm import MAX_QUERY_CHARS, check_query  # noqa: E402


def test_check_query_messages():
    assert check_query("周庄镇税收") == "周庄镇税收"
    with pytest.raises(EmptyQueryError, match="empty"):
        check_query("   ")
    with pytest.raises(EmptyQueryError, match="no letters or digits") as e:
        check_query("😀🎉")
    assert "only punctuation" not in str(e.value)
    with pytest.raises(BadQueryError, match="not valid text"):
        check_query("税收\ud800")
    with pytest.raises(BadQueryError, match=f"the limit is {MAX_QUERY_CHARS}"):
        check_query("税" * (MAX_QUERY_CHARS + 1))
    assert check_query("税" * MAX_QUERY_CHARS)


def test_unsearchable_questions_get_a_message_from_ask_and_a_named_error_from_search(sample_archive_ro):
    """A lone surrogate used to crash search and ask with a raw TypeError; a 20,000-character
    question took 106 s in jieba."""
    for q, says in (("\ud800", "not valid text"), ("税收\udcff", "not valid text"),
                    ("税收" * 10_000, "characters long"), ("😀😀😀", "no letters or digits")):
        t0 = time.perf_counter()
        ans = sample_archive_ro.ask(q)
        assert not ans.found and says in ans.message
        with pytest.raises(BadQueryError, match=says):
            sample_archive_ro.search(q, mode="keyword")
        assert time.perf_counter() - t0 < 5  # refused before segmentation, not after
