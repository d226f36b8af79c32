"""The newspaper page parser: the seed page, each rule, path metadata, formats, bad pages.

Reading of the seed page (shared/seed/jiaozuo_daily_page.txt) that these tests pin down:

* Article 1 is the Zhouzhuang piece. Its body starts above its headline (`河南省法治乡镇…`),
  the headline `周庄镇 党建引领激活乡村振兴 一池春水` interrupts the sentence `…智` / `造强县…`,
  so the place name `周庄镇` is its kicker and the rest its title. The three captions at the
  top of the page and the mid-body caption (which breaks `跟踪服` / `务好…`) are its photos;
  `(本栏图片除署名外均由周庄镇提供)` is a note on it. `党建+…` lines are section sub-heads and
  stay in its body as their own paragraphs.
* Article 2 is ONE article: its own headline is the stack right above its dateline
  (kicker `强举措 优服务 抓落实`, title `市高速公路建设指挥部高质量推进项目建设`); the stack
  over the photos (`由“两横三纵”到“四横六纵” / 我市高速公路提质扩容再续新篇章`) is the banner
  of its part of the page, kept as `section_title`; byline from the
  `本报讯 (记者段美如 通讯员段玉明)` dateline.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.errors import BadInputError
from qa.page import (
    Caption,
    PageMeta,
    article_id,
    date_from_path,
    ends_sentence,
    fallback_title,
    is_heading_shaped,
    is_note,
    is_page_furniture,
    headline_score,
    join_broken,
    looks_like_bare_caption,
    looks_like_name,
    normalize_page_label,
    page_from_stem,
    page_meta_from_path,
    parse_byline,
    parse_editor_line,
    parse_page,
    read_page,
    slug,
    source_from_path,
    split_credit,
    split_dateline,
    split_heading_stack,
    split_place_kicker,
    starts_article,
)
from qa.page_formats import html_to_text, pdf_to_text

DATA = Path(__file__).resolve().parent / "data" / "pages"
SEED = Path(__file__).resolve().parents[1] / "qa" / "data" / "sample" / "jiaozuo_daily" / "jiaozuo_daily_page.txt"


@pytest.fixture(scope="module")
def seed_text() -> str:
    if not SEED.is_file():
        pytest.skip(f"seed page not found at {SEED}")
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed(seed_text: str):
    return parse_page(seed_text)


# --------------------------------------------------------------------------- seed page


def test_seed_page_has_two_articles_with_titles_kickers_and_bylines(seed) -> None:
    a1, a2 = seed.articles
    assert (a1.kicker, a1.title, a1.subtitle, a1.byline) == ("周庄镇", "党建引领激活乡村振兴 一池春水", None, "本报记者 梁智玲")
    # its own headline is the stack right above its dateline; the stack over the photos
    # is the banner of its part of the page
    assert (a2.kicker, a2.title, a2.subtitle, a2.heads) == ("强举措 优服务 抓落实", "市高速公路建设指挥部高质量推进项目建设", None, ())
    assert a2.section_title == "由“两横三纵”到“四横六纵” 我市高速公路提质扩容再续新篇章"
    assert a1.section_title is None
    assert a2.byline == "记者段美如 通讯员段玉明"
    assert a2.dateline == "本报讯"


def test_seed_editor_line_is_page_metadata(seed) -> None:
    assert seed.editors == {"编辑": "金桂香", "校对": "谢欣汝", "组版": "许建林"}


def test_seed_captions_belong_to_their_articles(seed) -> None:
    a1, a2 = seed.articles
    assert a1.captions == (
        Caption("抗洪抢险。", None),
        Caption("疫情防控。", None),
        Caption("走访企业。", "本报记者 吉亚南 摄"),
        Caption("周庄镇农村党组织书记抓基层党建述职评议考核会。", "本报记者 吉亚南 摄"),
    )
    assert a1.notes == ("(本栏图片除署名外均由周庄镇提供)",)
    assert a2.captions == (
        Caption("河南省公路工程局的建设者正在操作挤压机进行钢筋笼连接。", "本报记者 段美如 摄"),
        Caption("中交一公局沿太行高速二标梁场箱梁台座正在预制作业。", "段玉明 摄"),
        Caption("中交一公局沿太行高速二标梁场箱梁台座预制已完成60%。", "段玉明 摄"),
        Caption("河南省公路工程局沿太行高速一标一工区大沙河大桥今年完成桩基43根,累计完成60根。", "本报记者 段美如 摄"),
    )


def test_seed_bodies_start_right_and_column_breaks_are_rejoined(seed) -> None:
    a1, a2 = seed.articles
    assert a1.body.startswith("河南省法治乡镇")
    assert a2.body.startswith("2022年我市推进高速公路项目共9个")
    for joined in ("一系列生态立县、智造强县、旅游兴县", "跟踪服务好万方精密制造产业园", "不断增强基层党组织的创造力", "抓牢、做实各项工作,谱写"):
        assert joined in a1.body, joined
    for joined in ("科学组织施工,抓质量", "约谈、督办等方式", "沿太行高速公路工程前期运作"):
        assert joined in a2.body, joined
    # every paragraph ends a sentence, except the section sub-heads
    for a in seed.articles:
        for p in a.paragraphs:
            assert ends_sentence(p) or p.startswith("党建+"), p


def test_seed_sub_heads_stay_in_the_body_as_paragraphs(seed) -> None:
    a1 = seed.articles[0]
    heads = [p for p in a1.paragraphs if p.startswith("党建+")]
    assert heads == ["党建+基层治理 锻造党建高质量", "党建+乡村治理 共画治理同心圆", "党建+经济发展 提升发展综合实力", "党建+民生事业 提升群众幸福感"]


def test_seed_bodies_hold_no_headline_byline_caption_or_editor_text(seed) -> None:
    a1, a2 = seed.articles
    not_body = [
        "编辑:", "金桂香", "本报记者 梁智玲", "党建引领激活乡村振兴 一池春水", "抗洪抢险。", "疫情防控。", "走访企业。", " 摄",
        "吉亚南", "述职评议考核会", "本栏图片", "我市高速公路提质扩容", "四横六纵", "强举措 优服务",
        "指挥部高质量推进项目建设", "本报讯", "通讯员段玉明", "挤压机", "箱梁台座", "大沙河大桥今年",
    ]
    for a in (a1, a2):
        for s in not_body:
            assert s not in a.body, s


def test_seed_read_page_records(tmp_path: Path, seed_text: str) -> None:
    p = tmp_path / "焦作日报" / "2022" / "03" / "15" / "第03版.txt"
    p.parent.mkdir(parents=True)
    p.write_text(seed_text, encoding="utf-8")
    records = read_page(p)
    articles = [r for r in records if r.metadata["kind"] == "article"]
    photos = [r for r in records if r.metadata["kind"] == "caption"]
    assert [r.id for r in articles] == ["焦作日报-2022-03-15-03-01", "焦作日报-2022-03-15-03-02"]
    assert [r.title for r in articles] == ["党建引领激活乡村振兴 一池春水", "市高速公路建设指挥部高质量推进项目建设"]
    banner = "由“两横三纵”到“四横六纵” 我市高速公路提质扩容再续新篇章"
    assert articles[1].metadata["section_title"] == banner
    assert articles[1].text.startswith(banner + "\n\n2022年我市推进")  # searchable with the article
    assert "section_title" not in articles[0].metadata
    a1 = articles[0]
    assert (a1.date, a1.page, a1.source, a1.byline) == ("2022-03-15", "03", "焦作日报", "本报记者 梁智玲")
    assert a1.source_file == str(p) and a1.source_line == 17
    assert a1.metadata["editors"] == {"编辑": "金桂香", "校对": "谢欣汝", "组版": "许建林"}
    assert a1.metadata["kicker"] == "周庄镇"
    assert a1.metadata["notes"] == ["(本栏图片除署名外均由周庄镇提供)"]
    assert a1.metadata["captions"][2] == {"text": "走访企业。", "credit": "本报记者 吉亚南 摄"}
    assert "subtitle" not in a1.metadata  # empty keys are omitted
    assert len(photos) == 8
    ph = photos[3]
    assert ph.id == "焦作日报-2022-03-15-03-01-photo-4"
    assert ph.title == "周庄镇农村党组织书记抓基层党建述职评议考核会。"
    assert ph.text == "周庄镇农村党组织书记抓基层党建述职评议考核会。 本报记者 吉亚南 摄"
    assert ph.byline == "本报记者 吉亚南 摄"
    assert ph.metadata == {"kind": "caption", "article_id": a1.id, "article_title": a1.title}
    assert (ph.date, ph.page, ph.source) == ("2022-03-15", "03", "焦作日报")
    assert photos[0].byline is None and photos[0].text == "抗洪抢险。"


def test_seed_gbk_copy_parses_identically(tmp_path: Path, seed_text: str) -> None:
    utf8 = tmp_path / "utf8" / "2022-03-15" / "03.txt"
    gbk = tmp_path / "gbk" / "2022-03-15" / "03.txt"
    for p, enc in ((utf8, "utf-8"), (gbk, "gbk")):
        p.parent.mkdir(parents=True)
        p.write_bytes(seed_text.encode(enc))
    a, b = read_page(utf8), read_page(gbk)
    assert [(r.id, r.title, r.text, r.byline, r.metadata) for r in a] == [(r.id, r.title, r.text, r.byline, r.metadata) for r in b]


# --------------------------------------------------------------------------- line rules


def test_ends_sentence() -> None:
    assert ends_sentence("谱写了民生事业发展的新篇章。")
    assert ends_sentence("他说:“好。”")
    assert ends_sentence("主要有以下几点:")
    assert not ends_sentence("一系列生态立县、智")
    assert not ends_sentence("跟踪服")
    assert not ends_sentence("")


def test_parse_editor_line() -> None:
    assert parse_editor_line("编辑:金桂香 | 校对:谢欣汝 | 组版:许建林") == {"编辑": "金桂香", "校对": "谢欣汝", "组版": "许建林"}
    assert parse_editor_line("责任编辑：王芳　美编：李娜") == {"责任编辑": "王芳", "美编": "李娜"}
    assert parse_editor_line("本版编辑 张伟") == {"编辑": "张伟"}
    assert parse_editor_line("编辑部的同志们说,今年的工作很有成效。") is None
    assert parse_editor_line("周庄镇党委书记崔全星说") is None


def test_split_credit() -> None:
    assert split_credit("走访企业。本报记者 吉亚南 摄") == ("走访企业。", "本报记者 吉亚南 摄")
    assert split_credit("段玉明 摄") == ("", "段玉明 摄")
    assert split_credit("本报记者  段美如  摄") == ("", "本报记者 段美如 摄")
    assert split_credit("大桥施工现场。 记者 张伟 李娜 摄") == ("大桥施工现场。", "记者 张伟 李娜 摄")
    assert split_credit("我们一起去拍摄") is None  # a verb, not a credit
    assert split_credit("市民纷纷驻足拍摄") is None
    assert split_credit("抗洪抢险。") is None


def test_parse_byline() -> None:
    assert parse_byline("本报记者 梁智玲") == "本报记者 梁智玲"
    assert parse_byline("本报记者 张伟 通讯员 李娜") == "本报记者 张伟 通讯员 李娜"
    assert parse_byline("记者  欧阳明") == "记者 欧阳明"
    assert parse_byline("记者蹲点") is None  # a kicker: 蹲点 is no name
    assert parse_byline("本报记者 段美如 摄") is None  # a photo credit
    assert parse_byline("记者了解到,项目进展顺利。") is None


def test_looks_like_name() -> None:
    assert looks_like_name("梁智玲") and looks_like_name("欧阳明") and looks_like_name("陳靜")
    assert looks_like_name("阿依古丽·买买提")
    assert not looks_like_name("蹲点") and not looks_like_name("观察") and not looks_like_name("张")


def test_split_dateline() -> None:
    assert split_dateline("本报讯 (记者段美如 通讯员段玉明) 2022年我市推进高速公路项目共9个。") == (
        "本报讯",
        "记者段美如 通讯员段玉明",
        "2022年我市推进高速公路项目共9个。",
    )
    assert split_dateline("本报讯（记者 张伟）近日，全市……") == ("本报讯", "记者 张伟", "近日，全市……")
    assert split_dateline("喜讯(全市一等奖)传来,大家很高兴。") is None
    assert split_dateline("2022年我市推进高速公路项目共9个(沿太行、沿黄)。") is None


def test_is_note_and_furniture() -> None:
    assert is_note("(本栏图片除署名外均由周庄镇提供)")
    assert is_note("（本版图片均由受访者提供）")
    assert not is_note("2022年我市推进高速公路项目共9个(沿太行、沿黄)。")
    assert is_page_furniture("第03版") and is_page_furniture("2022年3月15日 星期二") and is_page_furniture("A2")
    assert not is_page_furniture("2022年我市推进高速公路项目共9个。")


def test_is_heading_shaped() -> None:
    assert is_heading_shaped("我市高速公路提质扩容再续新篇章")
    assert is_heading_shaped("由“两横三纵”到“四横六纵”")
    assert is_heading_shaped("党建+基层治理 锻造党建高质量")
    assert not is_heading_shaped("抗洪抢险。")
    assert not is_heading_shaped("办等方式,推动项目实施。")
    assert not is_heading_shaped("一系列生态立县、" + "智" * 40)
    assert is_heading_shaped("稳字当头,进中求新")  # two short parallel phrases
    assert not is_heading_shaped("甲,乙,丙,丁")  # a comma-run fragment of a sentence
    assert not is_heading_shaped("今年全市将改造老旧小区120个,惠及")


def test_looks_like_bare_caption() -> None:
    assert looks_like_bare_caption("抗洪抢险。")
    assert not looks_like_bare_caption("办等方式,推动项目实施。")
    assert not looks_like_bare_caption("周庄镇农村党组织书记抓基层党建述职评议考核会。")  # long: needs a credit


def test_split_heading_stack_and_place_kicker() -> None:
    assert split_heading_stack(["我市高速公路提质扩容再续新篇章"]) == (None, "我市高速公路提质扩容再续新篇章", None, ())
    assert split_heading_stack(["由“两横三纵”到“四横六纵”", "我市高速公路提质扩容再续新篇章"]) == (
        "由“两横三纵”到“四横六纵”", "我市高速公路提质扩容再续新篇章", None, ())
    assert split_heading_stack(["春运首日", "——记者实地探访"]) == (None, "春运首日", "记者实地探访", ())
    assert split_heading_stack(["引题", "主题", "——副题", "另一行"]) == ("引题", "主题", "副题", ("另一行",))
    assert split_heading_stack(["周庄镇 党建引领激活乡村振兴 一池春水"]) == ("周庄镇", "党建引领激活乡村振兴 一池春水", None, ())
    assert split_place_kicker("路口镇 (长沙县)") == (None, "路口镇 (长沙县)")  # too short to be kicker + title


def test_join_broken() -> None:
    assert join_broken("一系列生态立县、智", "造强县、旅游兴县的发展战略。") == "一系列生态立县、智造强县、旅游兴县的发展战略。"
    assert join_broken("跟踪服 ", " 务好万方精密制造产业园") == "跟踪服务好万方精密制造产业园"


def test_starts_article() -> None:
    base = dict(has_article=True, stack_size=1, followed_by_byline=False, after_open_sentence=False)
    assert not starts_article(**base)  # a section sub-head between finished paragraphs
    assert starts_article(**{**base, "has_article": False})
    assert starts_article(**{**base, "followed_by_byline": True})
    assert starts_article(**{**base, "stack_size": 2})
    assert starts_article(**{**base, "after_open_sentence": True})
    assert starts_article(**base, score=0.5) and not starts_article(**base, score=-0.5)


def test_headline_score_gap_and_topic() -> None:
    article = "周庄镇党委坚持以抓好党建促发展为主轴，创新基层治理模式，矛盾纠纷及时化解。"
    sub = dict(gap_before=1, page_has_gaps=True, article_text=article, next_has_dateline=False)
    assert headline_score("党建+基层治理 锻造党建高质量", **sub) <= 0  # a sub-head of this article
    assert headline_score("老旧小区改造启动", **{**sub, "gap_before": 3}) > 0  # a block gap, new topic
    # on a page without block gaps, topic decides: a new story's headline shares no words
    flat = {**sub, "page_has_gaps": False}
    assert headline_score("老旧小区改造启动", **flat) > 0
    assert headline_score("党建引领基层治理", **flat) <= 0
    assert headline_score("党建引领基层治理", **{**flat, "next_has_dateline": True}) > 0
    # what follows: a paragraph on the article's topic keeps a line a sub-head, a new story opens
    same = "周庄镇党委坚持抓好党建促发展，创新基层治理模式，让矛盾纠纷化解在基层。"
    other = "六月一日起，我市十二个公园延长开放时间，市民晚间游园更加方便。"
    assert headline_score("发展历程回顾", **{**flat, "next_text": same}) <= 0
    assert headline_score("发展历程回顾", **{**flat, "next_text": other}) > 0


# --------------------------------------------------------------------------- small pages

TWO_ARTICLES = """编辑:张伟 | 校对:李娜



春耕备耕正当时

本报记者 王芳

连日来,各地抓住有利天气抢抓农时。农民在田间忙碌。

一、科技助力

无人机飞防成为新亮点,效率提高了三倍。



老旧小区改造启动

今年全市将改造老旧小区120个,惠及居民三万户。
"""


def test_sub_head_stays_and_block_gap_headline_starts_next_article() -> None:
    page = parse_page(TWO_ARTICLES)
    assert [a.title for a in page.articles] == ["春耕备耕正当时", "老旧小区改造启动"]
    assert page.articles[0].paragraphs == ("连日来,各地抓住有利天气抢抓农时。农民在田间忙碌。", "一、科技助力", "无人机飞防成为新亮点,效率提高了三倍。")
    assert page.articles[0].byline == "本报记者 王芳"
    assert page.articles[1].byline is None
    assert page.editors == {"编辑": "张伟", "校对": "李娜"}


def test_headline_in_the_middle_of_the_next_articles_first_sentence() -> None:
    first = "今年全市将改造老旧小区120个,涉及楼栋两千余栋,计划年底前全部完工,改造完成后将惠及"
    text = (
        "春耕备耕正当时\n\n本报记者 王芳\n\n农民在田间忙碌。\n\n\n\n"
        f"{first}\n\n老旧小区改造启动\n\n记者 张伟\n\n居民三万户。\n"
    )
    a1, a2 = parse_page(text).articles
    assert a1.paragraphs == ("农民在田间忙碌。",)
    assert (a2.title, a2.byline, a2.paragraphs) == ("老旧小区改造启动", "记者 张伟", (first + "居民三万户。",))


def test_caption_in_a_broken_sentence_is_lifted_out_and_the_sentence_rejoined() -> None:
    head = "连日来,各地抓住有利天气抢抓农时,农技人员深入田间地头指导农民科学施肥,跟踪服"
    text = f"春耕备耕正当时\n\n{head}\n\n\n\n农民在田间劳作。\n\n张伟 摄\n\n务好每一块田。\n"
    (a,) = parse_page(text).articles
    assert a.paragraphs == (head + "务好每一块田。",)
    assert a.captions == (Caption("农民在田间劳作。", "张伟 摄"),)


def test_short_sentence_after_a_column_break_is_body_not_caption() -> None:
    head = "市高速公路建设指挥部牢固树立项目为王理念,坚持目标导向、问题导向,科学组织施"
    text = f"春耕备耕正当时\n\n{head}\n\n\n\n工。\n\n大家都很高兴。\n"
    (a,) = parse_page(text).articles
    assert a.paragraphs[0] == head + "工。"
    assert a.captions == ()


# --------------------------------------------------------------------------- path metadata


@pytest.mark.parametrize(
    ("rel", "want"),
    [
        ("2022-03-15/03.txt", PageMeta("2022-03-15", "03", None)),
        ("20220315-03.txt", PageMeta("2022-03-15", "03", None)),
        ("焦作日报/2022/03/15/第03版.txt", PageMeta("2022-03-15", "03", "焦作日报")),
        ("焦作日报/2022-03-15/A2.txt", PageMeta("2022-03-15", "A2", "焦作日报")),
        ("archive/2022_3_5/page7.txt", PageMeta("2022-03-05", "07", None)),
        ("notes/市民出游.txt", PageMeta(None, None, None)),
    ],
)
def test_page_meta_from_path_layouts(tmp_path: Path, rel: str, want: PageMeta) -> None:
    assert page_meta_from_path(tmp_path / rel) == want


def test_page_meta_sidecar_and_explicit_override(tmp_path: Path) -> None:
    p = tmp_path / "2022-03-15" / "03.txt"
    p.parent.mkdir()
    p.write_text("春耕备耕正当时\n\n农民在田间忙碌。\n", encoding="utf-8")
    (p.parent / "page.json").write_text(json.dumps({"date": "2022-03-16", "page": "5", "source": "焦作日报"}, ensure_ascii=False), encoding="utf-8")
    assert page_meta_from_path(p) == PageMeta("2022-03-16", "05", "焦作日报")
    (r,) = read_page(p)
    assert (r.id, r.date, r.page, r.source) == ("焦作日报-2022-03-16-05-01", "2022-03-16", "05", "焦作日报")
    (r,) = read_page(p, date="2022/03/17", page="A2", source="人民日报")
    assert (r.id, r.date, r.page, r.source) == ("人民日报-2022-03-17-A2-01", "2022-03-17", "A2", "人民日报")


def test_bad_sidecar_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "03.txt"
    p.write_text("春耕备耕正当时\n\n农民在田间忙碌。\n", encoding="utf-8")
    (tmp_path / "page.json").write_text("{date: oops", encoding="utf-8")
    with pytest.raises(BadInputError) as e:
        page_meta_from_path(p)
    assert e.value.path.endswith("page.json") and e.value.line == 1


def test_path_rule_helpers() -> None:
    assert normalize_page_label("3") == "03" and normalize_page_label("a2") == "A2" and normalize_page_label("12") == "12"
    assert date_from_path(["x", "2022", "3", "15", "第03版"]) == ("2022-03-15", 3)
    assert date_from_path(["x", "2022-13-40"]) == (None, None)
    assert page_from_stem("第12版") == "12" and page_from_stem("20220315-03") == "03" and page_from_stem("20220315") is None
    assert source_from_path(["data", "2022-03-15", "03"], 1) is None  # `data` is no newspaper name
    assert slug("第03版 (上)") == "第03版-上"
    assert fallback_title("市民出游", "今天天气很好。") == "市民出游"
    assert fallback_title("03", "今天天气很好,市民纷纷外出。公园里人很多。") == "今天天气很好,市民纷纷外出。"
    assert article_id(PageMeta(None, None, None), "my page", 2) == "nodate-my-page-02"
    assert article_id(PageMeta("2022-03-15", None, None), "front", 1) == "2022-03-15-front-01"


def test_ids_are_stable_across_reingest(tmp_path: Path) -> None:
    p = tmp_path / "2022-03-15" / "03.txt"
    p.parent.mkdir()
    p.write_text(TWO_ARTICLES, encoding="utf-8")
    first = [r.id for r in read_page(p)]
    p.write_text(TWO_ARTICLES.replace("三倍", "四倍"), encoding="utf-8")  # corrected page
    assert [r.id for r in read_page(p)] == first == ["2022-03-15-03-01", "2022-03-15-03-02"]


# --------------------------------------------------------------------------- HTML and PDF


def test_html_to_text_strips_markup_and_boilerplate() -> None:
    text = html_to_text((DATA / "sample_page.html").read_text(encoding="utf-8"))
    assert "alert(1)" not in text and "font-family" not in text and "不该出现" not in text
    for boiler in ("焦作日报首页", "要闻", "分享到微信", "广告位招租", "版权所有"):
        assert boiler not in text
    assert "2022年我市推进高速公路项目共9个，其中在建项目5个。" in text  # entity decoded
    assert "强化目标引领 加快建设进度——市高速公路建设指挥部站位全市\n统筹推进。" in text
    assert text.startswith("强举措 优服务 抓落实\n\n市高速公路建设指挥部高质量推进项目建设\n\n本报记者 段美如\n\n")
    assert "。\n\n\n\n周庄镇 党建引领激活乡村振兴 一池春水\n\n" in text  # h1 after a block gap


def test_read_page_html(tmp_path: Path) -> None:
    p = tmp_path / "2022-03-15" / "03.html"
    p.parent.mkdir()
    shutil.copy(DATA / "sample_page.html", p)
    records = read_page(p)
    assert [r.title for r in records] == ["市高速公路建设指挥部高质量推进项目建设", "党建引领激活乡村振兴 一池春水"]
    assert records[0].metadata["kicker"] == "强举措 优服务 抓落实" and records[0].byline == "本报记者 段美如"
    assert all("alert(1)" not in r.text for r in records)
    assert records[0].source_line is None  # lines of extracted text are not lines of the file


def _write_pdf(path: Path, lines: list[str]) -> None:
    """A minimal one-page PDF with Helvetica text (empty `lines`: no text layer)."""
    ops = b"".join(b"(" + ln.encode("latin-1") + b") Tj T* " for ln in lines)
    content = b"BT /F1 12 Tf 14 TL 72 720 Td " + ops + b"ET" if lines else b"0 0 m 100 100 l S"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(out)


def test_pdf_text_layer(tmp_path: Path) -> None:
    p = tmp_path / "2022-03-15" / "03.pdf"
    p.parent.mkdir()
    _write_pdf(p, ["Harbour bridge opens", "The new bridge opened on Monday after three years of work."])
    text = pdf_to_text(p)
    assert "Harbour bridge opens" in text and "three years of work." in text
    (r,) = read_page(p)
    assert r.title == "Harbour bridge opens" and r.text == "The new bridge opened on Monday after three years of work."


def test_pdf_without_text_layer_raises(tmp_path: Path) -> None:
    p = tmp_path / "scan.pdf"
    _write_pdf(p, [])
    with pytest.raises(BadInputError, match="no text layer; OCR is not supported") as e:
        pdf_to_text(p)
    assert e.value.path == str(p)
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\nthis is not a pdf")
    with pytest.raises(BadInputError) as e:
        read_page(bad)
    assert e.value.path == str(bad)


# --------------------------------------------------------------------------- bad pages


def test_empty_page_raises(tmp_path: Path) -> None:
    for name, content in (("empty.txt", ""), ("blank.txt", "\n \n\u3000\n")):
        p = tmp_path / name
        p.write_text(content, encoding="utf-8")
        with pytest.raises(BadInputError, match="empty page") as e:
            read_page(p)
        assert e.value.path == str(p)


def test_only_captions_raises(tmp_path: Path) -> None:
    p = tmp_path / "photos.txt"
    p.write_text("抗洪抢险。\n\n\n\n走访企业。本报记者 吉亚南 摄\n\n\n\n段玉明 摄\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="only photo captions, no article text") as e:
        read_page(p)
    assert e.value.path == str(p)


def test_only_editor_line_raises(tmp_path: Path) -> None:
    p = tmp_path / "x.txt"
    p.write_text("编辑:金桂香 | 校对:谢欣汝\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="no article text"):
        read_page(p)


def test_no_headline_falls_back_to_file_name_or_first_sentence(tmp_path: Path) -> None:
    body = "今天天气很好,市民纷纷外出。\n\n公园里人很多,孩子们在草地上奔跑。\n"
    named = tmp_path / "市民出游.txt"
    named.write_text(body, encoding="utf-8")
    (r,) = read_page(named)
    assert r.title == "市民出游" and r.text == "今天天气很好,市民纷纷外出。\n\n公园里人很多,孩子们在草地上奔跑。"
    assert r.metadata["untitled"] is True
    numbered = tmp_path / "2022-03-15" / "03.txt"
    numbered.parent.mkdir()
    numbered.write_text(body, encoding="utf-8")
    (r,) = read_page(numbered)
    assert r.title == "今天天气很好,市民纷纷外出。" and r.id == "2022-03-15-03-01"


def test_binary_page_raises(tmp_path: Path) -> None:
    p = tmp_path / "page.txt"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(BadInputError, match="binary") as e:
        read_page(p)
    assert e.value.path == str(p)


def test_text_argument_skips_reading(tmp_path: Path) -> None:
    records = read_page(tmp_path / "2022-03-15" / "03.txt", text=TWO_ARTICLES)
    assert [r.title for r in records] == ["春耕备耕正当时", "老旧小区改造启动"]
    assert records[0].source_line is None


def test_finished_text_above_the_first_headline_stays_its_own_untitled_article() -> None:
    """Only a headline that interrupts a sentence claims the text above it; a finished
    lead (e.g. continued from another page) stays separate and read_page titles it."""
    text = "接上版。今年全市共完成造林面积三万亩。\n\n\n\n老旧小区改造启动\n\n本报记者 张伟\n\n今年全市将改造老旧小区120个。\n"
    a1, a2 = parse_page(text).articles
    assert (a1.title, a1.paragraphs) == ("", ("接上版。今年全市共完成造林面积三万亩。",))
    assert (a2.title, a2.byline) == ("老旧小区改造启动", "本报记者 张伟")


# --------------------------------------------------------------------------- section title in the archive


def test_section_title_is_searchable_and_shown_in_the_citation(small_archive_dir: Path, tmp_path: Path) -> None:
    from qa import Archive

    dst = tmp_path / "archive"
    shutil.copytree(small_archive_dir, dst)
    with Archive.open(dst) as a:
        hits = a.search("四横六纵", k=3, mode="keyword")
        assert hits, "the banner's words find the article"
        top = hits[0].citation
        assert top.title == "市高速公路建设指挥部高质量推进项目建设"
        assert top.section_title == "由“两横三纵”到“四横六纵” 我市高速公路提质扩容再续新篇章"
        assert top.label().startswith("市高速公路建设指挥部高质量推进项目建设（由“两横三纵”到“四横六纵”")
