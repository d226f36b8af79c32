"""A chat turn on the real sample archive: follow-ups, dates, filters, and a reply whose
archive text is escaped (the browser tests check the same in Chromium)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from qa.chat import ChatFilters, render_turn, run_turn
from qa.chat_text import TEXT, human_date, human_time

QUESTION = "周庄镇2021年累计完成税收多少？"


def test_question_then_follow_up(sample_archive_ro):
    first = run_turn(sample_archive_ro, QUESTION, [])
    assert first.answer.found and "1334万元" in first.answer.best.highlight
    assert first.question_dates is not None and first.question_dates.label() == "2021年"
    html = render_turn(first)
    assert "<mark>" in html and "1334万元" in html and 'class="qa-source ' in html
    second = run_turn(sample_archive_ro, "那工业增加值呢？", [first.query])
    assert second.query == "周庄镇 工业增加值" and second.rewrite_reason
    assert any("20.2%" in p.text for p in second.answer.passages)
    assert "周庄镇 工业增加值" in render_turn(second)


def test_question_dates_filter_the_search(sample_archive_ro):
    q = "1992年总统接见旅居泰国侨胞代表时说了什么？"
    turn = run_turn(sample_archive_ro, q, [])
    assert turn.dates_applied and not turn.dates_dropped and turn.answer.found
    assert all(p.citation.date.startswith("1992-") for p in turn.answer.passages)
    assert turn.filters.date_from == "1992-01-01" and turn.filters.date_to == "1992-12-31"
    assert "问题中的日期：1992年" in render_turn(turn)
    free = run_turn(sample_archive_ro, q, [], use_question_dates=False)
    assert not free.dates_applied and free.filters.is_empty()


def test_a_year_the_numbers_are_about_falls_back_to_all_dates(sample_archive_ro):
    """"2021年累计完成税收" is about 2021; the article reporting it is not dated 2021."""
    turn = run_turn(sample_archive_ro, QUESTION, [])
    assert turn.dates_dropped and not turn.dates_applied and turn.filters.is_empty()
    assert "1334万元" in turn.answer.best.highlight
    html = render_turn(turn)
    undated = [p for p in (*turn.answer.passages, *turn.answer.related) if not p.citation.date]
    assert undated and html.count("此文日期不详") == len(undated)  # shown and possibly related
    if all(not p.citation.date for p in turn.answer.passages):  # nothing shown says it lies outside 2021
        assert "以下文章的日期不详，未按该日期筛选" in html and "以下结果不限该日期" not in html
    else:
        assert "以下结果不限该日期" in html


def test_an_undated_article_is_not_called_outside_the_question_s_dates(sample_archive_ro):
    """The Zhouzhuang article has no date: it may well be from 2021, so the reply must not
    say that nothing was found in 2021 and these results are from other dates."""
    turn = run_turn(sample_archive_ro, QUESTION, [])
    undated = tuple(p for p in turn.answer.passages if not p.citation.date)
    only_undated = replace(turn, answer=replace(turn.answer, passages=undated))
    html = render_turn(only_undated)
    assert "以下文章的日期不详" in html and "内没有找到相关内容" not in html
    en = render_turn(replace(only_undated, question="How much tax did Zhouzhuang collect in 2021?",
                             answer=replace(only_undated.answer, language="en")))
    assert "the date of the articles below is unknown" in en and "the date of this article is unknown" in en


@pytest.fixture(scope="module")
def zhouzhuang(sample_archive_ro):
    return run_turn(sample_archive_ro, QUESTION, [])


def test_the_short_answer_comes_first_then_its_sentence(zhouzhuang):
    best = zhouzhuang.answer.best
    start = best.highlight.index("1334万元")
    turn = replace(zhouzhuang, answer=replace(zhouzhuang.answer, short_answer="1334万元",
                                              short_answer_span=(start, start + len("1334万元")), answer_type="number"))
    html = render_turn(turn)
    lead = re.search(r'<p class="qa-lead">(.*?)</p>', html).group(1)
    assert lead.index("答：<strong>1334万元</strong>") < lead.index("<mark>")
    assert "<strong>1334万元</strong>" in lead  # and marked inside the sentence


def test_a_short_answer_that_is_not_in_the_sentence_is_not_shown(zhouzhuang):
    turn = replace(zhouzhuang, answer=replace(zhouzhuang.answer, short_answer="9999万元", short_answer_span=(0, 6)))
    html = render_turn(turn)
    assert "9999万元" not in html and "答：<mark>" in html


def test_each_source_has_a_relevance_cue_in_words_and_weaker_ones_are_collapsed(zhouzhuang):
    first, *rest = (*zhouzhuang.answer.passages, *zhouzhuang.answer.related)
    assert len(rest) >= 3
    ans = replace(zhouzhuang.answer, passages=(first, replace(rest[0], relevance="medium")),
                  related=tuple(replace(p, relevance="low") for p in rest[1:]))
    html = render_turn(replace(zhouzhuang, answer=ans))
    assert html.count('class="qa-source ') == 2
    assert '<span class="qa-rel qa-rel-high"' in html and ">高度相关</span>" in html
    assert '<span class="qa-rel qa-rel-medium"' in html and ">相关</span>" in html
    related = re.search(r'<details class="qa-related">(.*?)</details>', html, re.S).group(1)
    assert f"其他可能相关（{len(rest) - 1}）" in related and related.count("qa-related-item") == len(rest) - 1
    assert "[3]" not in html  # possibly related passages are not numbered as sources
    assert not re.search(r"\b0\.\d{3}\b", html)  # no raw scores


def test_an_english_question_gets_the_chat_s_words_in_english(zhouzhuang):
    dated = next(p for p in zhouzhuang.answer.related if p.citation.date)  # so the date note is "not within"
    turn = replace(zhouzhuang, question="How much tax did Zhouzhuang collect in 2021?",
                   answer=replace(zhouzhuang.answer, language="en", passages=(*zhouzhuang.answer.passages, dated),
                                  related=(dated,)))
    html = render_turn(turn)
    for word in ("Answer: ", "Searched: ", "Show the whole article", "Hide the article", "highly relevant",
                 "Possibly related (1)", "the date of this article is unknown", "Nothing relevant within 2021"):
        assert word in html, word
    for zh in ("答：", "检索：", "展开全文", "收起全文", "此文日期不详", "其他可能相关", "高度相关", "内没有找到相关内容"):
        assert zh not in html, zh  # none of the Chinese chrome (archive text stays as it is)


def test_english_not_found_and_chinese_not_found(sample_archive_ro):
    turn = run_turn(sample_archive_ro, "How thick are the glaciers on Europa, a moon of Jupiter?", [])
    if not turn.answer.found:
        html = render_turn(turn)
        assert "Try other words" in html and "建议" not in html


def test_every_language_has_every_word():
    assert set(TEXT["en"]) == set(TEXT["zh"])


def test_dates_as_people_write_them():
    assert human_date("2022-03-15", "zh") == "2022年3月15日" and human_date("2022-03-15", "en") == "15 Mar 2022"
    assert human_date("2022-03", "zh") == "2022年3月" and human_date(None, "zh") == ""
    assert human_time("2026-11-29T05:44:10+00:00", "zh") == "2026年11月29日 05:44 UTC"


def test_the_expanded_article_holds_the_passage_once_in_place(zhouzhuang):
    html = render_turn(zhouzhuang)
    full = re.search(r'<div class="qa-fulltext">(.*?)</div>', html, re.S).group(1)
    sentence = zhouzhuang.answer.best.highlight
    assert full.count(sentence) == 1
    assert re.search(r'<span class="qa-inplace">[^<]*(<mark>[^<]*</mark>[^<]*)*</span>', full)
    assert '<button type="button" class="qa-collapse">收起全文 ▴</button>' in html


def test_question_dates_narrow_the_panels_range(sample_archive_ro):
    turn = run_turn(sample_archive_ro, "1992年总统接见旅居泰国侨胞代表时说了什么？", [], ChatFilters("1992-01-10", "1995-12-31"))
    assert turn.filters.date_from == "1992-01-10" and turn.filters.date_to == "1992-12-31"


def test_the_same_sentence_is_cited_once(sample_archive_ro):
    turn = run_turn(sample_archive_ro, QUESTION, [])
    keys = [(p.citation.article_id, p.highlight) for p in turn.answer.passages]
    assert len(keys) == len(set(keys))


def test_panel_filters_are_applied(sample_archive_ro):
    turn = run_turn(sample_archive_ro, "总统接见侨胞代表", [], ChatFilters(source="中華民國總統府新聞稿",
                                                                  date_from="1992-01-01", date_to="1992-12-31"))
    assert turn.answer.found
    assert all(p.citation.date.startswith("1992-") for p in turn.answer.passages)


def test_nothing_relevant_says_so_and_lists_no_passages(sample_archive_ro):
    turn = run_turn(sample_archive_ro, "火星探测器在木卫二上发现了多少冰川？", [])
    assert not turn.answer.found
    html = render_turn(turn)
    assert "qa-source" not in html and "qa-notfound" in html and "建议" in html


def test_archive_text_is_escaped(sample_archive, tmp_path):
    rec = {"id": "xss", "title": "<script>alert(1)</script>标题", "date": "2023-05-06", "byline": "<b>记者</b>",
           "text": '青蛙湖<img src=x onerror="alert(2)">渔业合作社捕捞鲢鱼八十吨。[x](javascript:alert(3))'}
    src = tmp_path / "xss.jsonl"
    src.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    sample_archive.ingest([src])
    turn = run_turn(sample_archive, "青蛙湖渔业合作社捕捞鲢鱼多少吨？", [])
    assert turn.answer.found and turn.answer.best.citation.article_id == "xss"
    html = render_turn(turn)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "onerror=&quot;alert(2)&quot;" in html
    assert "[x](javascript:alert(3))" in html  # Markdown is not rendered by the chat, so this stays text
