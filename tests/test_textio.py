"""Text files in the encodings Chinese archives arrive in, from real encoded bytes."""

from __future__ import annotations

import pytest

from qa.errors import BadInputError
from qa.ingest import read_inputs
from qa.records import ArticleRecord
from qa.textio import decode_bytes, read_text

SIMPLIFIED = ("焦作日报讯 周庄镇党建引领激活乡村振兴。\n"
              "本报记者 梁智玲\n"
              "去年，周庄镇累计完成税收1334万元，占任务数885万元的150.7%，超收449万元，维持全县排名第一。\n"
              "一池春水，满园春色：全镇实现了社会稳定、经济发展的目标。\n")
TRADITIONAL = ("總統接見旅居泰國僑胞代表\n"
               "李總統登輝先生今天接見旅居泰國僑胞代表時表示，我們的政治及憲政改革，是國家發展到目前這個階段必須要做的事。"
               "泰國中華會館是當年國父在泰國鼓吹革命時所創立，至今已有八十五年的歷史。\n")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_text_not_binary(tmp_path, encoding):
    for text in (SIMPLIFIED, TRADITIONAL):
        data = text.encode(encoding)
        assert not data.startswith((b"\xff\xfe", b"\xfe\xff"))
        p = tmp_path / "page.txt"
        p.write_bytes(data)
        assert read_text(p) == text


@pytest.mark.parametrize("encoding", ["big5", "cp950"])
def test_big5_pages_are_not_read_as_gbk(encoding):
    """Most Big5 byte pairs are also valid GBK: strict GB18030 decoding "succeeds" with
    nonsense, so the decoding that reads like Chinese has to win."""
    assert decode_bytes(TRADITIONAL.encode(encoding)) == TRADITIONAL


@pytest.mark.parametrize("text, encoding", [(SIMPLIFIED, "gb2312"), (SIMPLIFIED, "gbk"), (TRADITIONAL, "gbk"),
                                            (SIMPLIFIED, "gb18030"), (TRADITIONAL, "gb18030")])
def test_gb_encodings(text, encoding):
    assert decode_bytes(text.encode(encoding)) == text


def test_a_big5_page_is_split_into_articles_with_its_text_intact(tmp_path):
    p = tmp_path / "1992-01-14-02.txt"
    p.write_bytes(TRADITIONAL.encode("big5"))
    recs = [r for r in read_inputs([p]) if isinstance(r, ArticleRecord)]
    assert recs and "泰國中華會館" in recs[0].text and recs[0].date == "1992-01-14"


def test_binary_is_still_refused():
    with pytest.raises(BadInputError, match="binary file"):
        decode_bytes(b"\x00\x01\x02\x03binary\x00\x10\x11" * 100)
    with pytest.raises(BadInputError, match="binary file"):
        decode_bytes(bytes(range(256)) * 8)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_full_of_yi_and_without_ascii(encoding):
    """一 is U+4E00: its NUL byte falls on the other side from a newline's, so NUL positions
    alone cannot tell the byte order; and text without ASCII or 一 has no NUL at all."""
    many_yi = "一月一日，全市一百一十一個社區一起舉辦活動，一共一萬一千人參加。\n"
    no_nul = "李總統登輝先生今天接見旅居泰國僑胞代表時表示，我們的政治及憲政改革，是國家發展到目前這個階段必須要做的事。"
    for text in (many_yi, no_nul):
        assert decode_bytes(text.encode(encoding)) == text
