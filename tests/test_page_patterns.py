"""One small real-shaped page per layout pattern the page parser must read (issue 10).

The pages are written by hand in the shapes text extraction gives real pages: national
and city dailies' datelines and bylines, photo credits, headlines with punctuation,
furniture inside long articles, roundups, and the two shapes of column break.
"""

from __future__ import annotations

from qa.page import parse_byline, parse_page, split_credit, split_dateline

LEAD = "市政府今天召开新闻发布会，介绍今年以来全市稳就业工作进展情况。"
P2 = "据介绍，今年前五个月全市城镇新增就业六万余人，完成全年目标的百分之四十六。"
P3 = "下一步，有关部门将继续加大职业技能培训力度，拓宽高校毕业生就业渠道。"
Q1 = "六月一日起，我市十二个公园延长开放时间，市民晚间游园更加方便。"
Q2 = "市园林部门相关负责人表示，延时开放期间将加强安全巡查和保洁服务。"


def _titles(text: str) -> list[str]:
    return [a.title for a in parse_page(text).articles]


# --------------------------------------------------------------------------- 1. datelines


def test_national_daily_dateline_gives_the_byline_and_leaves_the_body() -> None:
    text = f"稳就业工作取得新进展\n\n本报上海6月3日电  （记者张明 王丽）{LEAD}\n\n{P2}\n"
    (a,) = parse_page(text).articles
    assert (a.title, a.dateline, a.byline) == ("稳就业工作取得新进展", "本报上海6月3日电", "记者张明 王丽")
    assert a.paragraphs[0] == LEAD


def test_other_dateline_shapes() -> None:
    assert split_dateline(f"据新华社北京6月3日电 （记者刘洋）{LEAD}")[:2] == ("据新华社北京6月3日电", "记者刘洋")
    assert split_dateline(f"中新网杭州6月3日电 (记者 童笑雨){LEAD}")[:2] == ("中新网杭州6月3日电", "记者 童笑雨")
    assert split_dateline(f"新华社北京6月3日电（记者张三、李四）{LEAD}")[1] == "记者张三、李四"
    assert split_dateline(f"新华社北京6月3日电 {LEAD}") == ("新华社北京6月3日电", "", LEAD)
    assert split_dateline(f"旅行社接到来电后，{LEAD}") is None
    assert split_dateline("本报记者近日从国家电网了解到，今年夏季用电负荷创新高。") is None
    assert split_dateline("新华社电视台报道了这一消息，引发广泛关注。") is None


def test_byline_line_with_report_suffix() -> None:
    text = f"稳就业工作取得新进展\n\n本报记者 李华 通讯员 赵强 报道\n\n{LEAD}\n"
    (a,) = parse_page(text).articles
    assert a.byline == "本报记者 李华 通讯员 赵强"
    assert a.body == LEAD


# --------------------------------------------------------------------------- 2. spaced bylines


def test_spaced_names_and_several_reporters_are_the_byline_not_the_title() -> None:
    text = f"稳就业工作取得新进展\n\n本报记者  何  勇  申智林\n\n{LEAD}\n"
    (a,) = parse_page(text).articles
    assert (a.title, a.byline) == ("稳就业工作取得新进展", "本报记者 何勇 申智林")
    # names need not start with a common surname when spaced from the role
    assert parse_byline("本报记者 禤明 笪一诺") == "本报记者 禤明 笪一诺"
    assert parse_byline("记者蹲点") is None
    assert parse_byline("文/本报记者 张三") == "文/本报记者 张三"
    assert parse_byline("文／禤明") == "文／禤明"
    assert parse_byline("文/图说明了一切") is None


# --------------------------------------------------------------------------- 3. photo credits


def test_photo_credit_styles() -> None:
    assert split_credit("游客在公园内赏花。刘明摄（新华社发）") == ("游客在公园内赏花。", "刘明摄（新华社发）")
    assert split_credit("游客在公园内赏花。（图片由受访者提供）") == ("游客在公园内赏花。", "（图片由受访者提供）")
    assert split_credit("图①：游客在公园内赏花。本报记者 张三摄") == ("图①：游客在公园内赏花。", "本报记者 张三摄")
    assert split_credit("夜色中的滨江公园。禤明/摄") == ("夜色中的滨江公园。", "禤明/摄")


def test_credits_do_not_leak_into_the_body() -> None:
    text = (
        f"公园延时开放\n\n本报记者 王芳\n\n{Q1}\n\n{Q2}\n\n\n\n"
        "游客在公园内赏花。刘明摄（新华社发）\n\n\n\n"
        "图①：夜色中的滨江公园。本报记者 张三摄\n\n\n\n"
        "（图片由受访者提供）\n\n\n\n"
        "制图：赵磊\n"
    )
    (a,) = parse_page(text).articles
    assert a.body == f"{Q1}\n\n{Q2}"
    assert [c.credit for c in a.captions] == ["刘明摄（新华社发）", "本报记者 张三摄", "（图片由受访者提供）"]


# --------------------------------------------------------------------------- 4. headlines


def test_one_line_headline_after_a_single_blank_line_starts_an_article() -> None:
    text = f"稳就业工作取得新进展\n\n{LEAD}\n\n{P2}\n\n公园延长开放时间\n\n{Q1}\n\n{Q2}\n"
    assert _titles(text) == ["稳就业工作取得新进展", "公园延长开放时间"]


def test_headlines_with_comma_colon_dash_or_column_name() -> None:
    for title in ("你守护社区，我守护你", "春节里的年味（人民观察）", "一线调研：老街巷里的新生活", "公园延时开放——夜游成为新时尚"):
        text = f"稳就业工作取得新进展\n\n本报记者 王芳\n\n{LEAD}\n\n\n\n{title}\n\n{Q1}\n"
        assert _titles(text) == ["稳就业工作取得新进展", title], title


def test_long_comma_headline_over_a_byline() -> None:
    title = "强化首都圈交通相互连结，让城市生活更加便利"
    text = f"{title}\n\n本报记者 王芳\n\n{LEAD}\n"
    assert _titles(text) == [title]


# --------------------------------------------------------------------------- 5. furniture


def test_box_labels_and_numbered_sub_heads_stay_inside_one_article() -> None:
    text = (
        f"稳就业工作取得新进展\n\n本报记者 王芳\n\n核心阅读\n\n{LEAD}\n\n"
        f"一、技能培训扩容提质\n\n{P2}\n\n二、拓宽毕业生就业渠道\n\n{P3}\n"
    )
    (a,) = parse_page(text).articles
    assert a.paragraphs == ("核心阅读", LEAD, "一、技能培训扩容提质", P2, "二、拓宽毕业生就业渠道", P3)


# --------------------------------------------------------------------------- 6. column breaks


def test_column_break_a_own_headline_inside_the_lead_after_a_block_gap() -> None:
    head, tail = P2[:20], P2[20:]
    text = (
        f"公园延长开放时间\n\n本报记者 王芳\n\n{Q1}\n\n\n\n"
        f"本报讯（记者 张伟）{LEAD}\n\n{head}\n\n\n\n稳就业工作取得新进展\n\n{tail}\n\n{P3}\n"
    )
    a1, a2 = parse_page(text).articles
    assert (a1.title, a1.body) == ("公园延长开放时间", Q1)
    assert (a2.title, a2.byline) == ("稳就业工作取得新进展", "记者 张伟")
    assert a2.paragraphs == (LEAD, P2, P3)


def test_column_break_b_another_article_inside_a_broken_sentence() -> None:
    head, tail = P2[:20], P2[20:]
    text = (
        f"稳就业工作取得新进展\n\n本报记者 王芳\n\n{LEAD}\n\n{head}\n\n\n\n"
        f"公园延长开放时间\n\n本报记者 李娜\n\n{Q1}\n\n{Q2}\n\n\n\n{tail}\n\n{P3}\n"
    )
    a1, a2 = parse_page(text).articles
    assert (a1.title, a1.paragraphs) == ("稳就业工作取得新进展", (LEAD, P2, P3))
    assert (a2.title, a2.byline, a2.paragraphs) == ("公园延长开放时间", "本报记者 李娜", (Q1, Q2))


def test_column_break_b_with_a_dateline_opening() -> None:
    head, tail = P2[:20], P2[20:]
    text = (
        f"稳就业工作取得新进展\n\n{LEAD}\n\n{head}\n\n\n\n"
        f"公园延长开放时间\n\n本报讯（记者 李娜）{Q1}\n\n\n\n{tail}\n"
    )
    a1, a2 = parse_page(text).articles
    assert a1.paragraphs == (LEAD, P2)
    assert (a2.byline, a2.paragraphs) == ("记者 李娜", (Q1,))


def test_decimal_point_at_a_column_end_is_no_sentence_end() -> None:
    text = f"稳就业工作取得新进展\n\n本报记者 王芳\n\n{LEAD}\n\n据国家统计局数据，五月份全国城镇调查失业率为5.\n\n\n\n公园延长开放时间\n\n本报记者 李娜\n\n{Q1}\n\n\n\n2%，比上月下降0.1个百分点。\n"
    a1, a2 = parse_page(text).articles
    assert a1.paragraphs == (LEAD, "据国家统计局数据，五月份全国城镇调查失业率为5.2%，比上月下降0.1个百分点。")
    assert a2.paragraphs == (Q1,)


# --------------------------------------------------------------------------- 7. roundups


def test_roundup_items_with_datelines_are_one_article() -> None:
    text = (
        f"稳就业工作取得新进展\n\n本报记者 王芳\n\n{LEAD}\n\n\n\n简讯\n\n"
        f"本报讯（记者 张伟）{Q1}\n\n本报讯（记者 李娜）{Q2}\n\n■{P3}\n"
    )
    a1, a2 = parse_page(text).articles
    assert a2.title == "简讯"
    assert a2.paragraphs == (Q1, Q2, P3)
    assert a2.byline == "记者 张伟 记者 李娜"


def test_long_article_plus_briefs() -> None:
    long = f"稳就业工作取得新进展\n\n本报记者 王芳\n\n{LEAD}\n\n一、技能培训扩容提质\n\n{P2}\n\n{P3}"
    text = f"{long}\n\n\n\n公园延长开放时间\n\n{Q1}\n\n\n\n夜市经济持续升温\n\n{Q2}\n"
    assert _titles(text) == ["稳就业工作取得新进展", "公园延长开放时间", "夜市经济持续升温"]


def test_single_blank_page_sub_head_stays_and_brief_headline_opens() -> None:
    """No block gaps anywhere: topic decides. The sub-head and the paragraph under it
    continue the article above; the brief's headline and lead are another story."""
    text = (
        f"稳就业工作取得新进展\n\n{LEAD}\n\n{P2}\n\n{P3}\n\n技能培训扩容提质\n\n"
        "全市今年将开展职业技能培训三万人次，重点面向高校毕业生和农民工群体，促进就业。\n\n"
        f"公园延长开放时间\n\n{Q1}\n\n{Q2}\n"
    )
    a1, a2 = parse_page(text).articles
    assert a1.title == "稳就业工作取得新进展" and "技能培训扩容提质" in a1.paragraphs
    assert (a2.title, a2.paragraphs) == ("公园延长开放时间", (Q1, Q2))
