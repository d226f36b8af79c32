"""Sentence splitting and chunking of Chinese text."""

from __future__ import annotations

import pytest

from qa.chunk import chunk_text, split_sentences


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_splits_after_chinese_and_ascii_terminators():
    assert sentences("今天下雨。明天呢？好！Yes!再见；") == ["今天下雨。", "明天呢？", "好！", "Yes!", "再见；"]


def test_quotation_stays_whole():
    text = "周庄镇党委书记说：“抓好党建促发展。笃定前行谱新篇！”随后散会。"
    assert sentences(text) == ["周庄镇党委书记说：“抓好党建促发展。笃定前行谱新篇！”", "随后散会。"]


def test_corner_brackets_used_in_taiwan_stay_whole():
    text = "總統表示：「我們的改革工作，是一定可以成功的。」大家鼓掌。"
    assert sentences(text) == ["總統表示：「我們的改革工作，是一定可以成功的。」", "大家鼓掌。"]


def test_line_break_ends_a_sentence_even_inside_an_open_quote():
    text = "“第一段没有结束引号\n第二段。"
    assert sentences(text) == ["“第一段没有结束引号", "第二段。"]


def test_overlong_sentence_is_cut_at_a_comma():
    text = "，".join(["很长的一句话"] * 60) + "。"
    spans = split_sentences(text, max_chars=100)
    assert all(e - s <= 100 for s, e in spans)
    assert "".join(text[s:e] for s, e in spans) == text
    assert text[spans[0][1] - 1] == "，"


def test_chunks_are_exact_spans_and_overlap_by_one_sentence():
    sents = [f"第{i}句话说的是一件事情而且相当长一些。" for i in range(30)]
    text = "".join(sents)
    chunks = chunk_text(text, target_chars=100, overlap_sentences=1)
    assert len(chunks) > 3
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert len(c.text) <= 150
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end, "consecutive chunks share a sentence"
        assert b.end > a.end, "every chunk adds new text"
    assert chunks[0].start == 0 and chunks[-1].end == len(text)


def test_no_overlap_partitions_the_text():
    text = "".join(f"句子{i}。" for i in range(50))
    chunks = chunk_text(text, target_chars=40, overlap_sentences=0)
    assert "".join(c.text for c in chunks) == text


def test_long_sentence_after_overlap_still_makes_progress():
    text = "短句一。" + "长" * 280 + "。" + "短句二。" + "长" * 290 + "。"
    chunks = chunk_text(text, target_chars=300, overlap_sentences=1)
    ends = [c.end for c in chunks]
    assert ends == sorted(set(ends)), "no chunk is contained in the previous one"


def test_blank_text_has_no_chunks_and_bad_settings_are_refused():
    assert chunk_text("  \n\n ") == []
    with pytest.raises(ValueError, match="target_chars"):
        chunk_text("文本。", target_chars=5)
    with pytest.raises(ValueError, match="overlap"):
        chunk_text("文本。", overlap_sentences=-1)
