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
