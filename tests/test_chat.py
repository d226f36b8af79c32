"""A chat turn on the real sample archive: follow-ups, dates, filters, and a reply whose
archive text is escaped (the browser tests check the same in Chromium)."""

from __future__ import annotations

import json

from qa.chat import ChatFilters, render_turn, run_turn

QUESTION = "周庄镇2021年累计完成税收多少？"


def test_question_then_follow_up(sample_archive_ro):
    first = run_turn(sample_archive_ro, QUESTION, [])
    assert first.answer.found and "1334万元" in first.answer.best.highlight
    assert first.question_dates is not None and first.question_dates.label() == "2021年"
    html = render_turn(first)
    assert "<mark>" in html and "1334万元" in html and 'class="qa-source"' in html
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
    assert "以下结果不限该日期" in render_turn(turn)


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
