"""Follow-up questions are rewritten with the previous turn's subject; others are left alone."""

from __future__ import annotations

import pytest

from qa.conversation import is_followup, rewrite_followup, subject_of

ZHOUZHUANG = "周庄镇2021年累计完成税收多少？"


def test_the_issue_example():
    query, reason = rewrite_followup("那工业增加值呢？", [ZHOUZHUANG])
    assert query == "周庄镇 工业增加值"
    assert "周庄镇" in reason


@pytest.mark.parametrize(
    "followup, expected",
    [
        ("那工业增加值呢？", "周庄镇 工业增加值"),
        ("那么税收呢", "周庄镇 税收"),
        ("还有粮食产量呢？", "周庄镇 粮食产量"),
        ("税收呢", "周庄镇 税收"),
        ("它的党委书记是谁？", "周庄镇的党委书记是谁"),
        ("那荣誉呢？", "周庄镇 荣誉"),  # jieba tags 荣誉 as a person name; it must not become the subject
    ],
)
def test_elliptical_followups_get_the_previous_subject(followup, expected):
    assert rewrite_followup(followup, [ZHOUZHUANG])[0] == expected


def test_a_new_place_keeps_the_previous_question():
    query, reason = rewrite_followup("那修武县呢？", [ZHOUZHUANG])
    assert query.startswith("修武县") and "税收" in query and "周庄镇" not in query
    assert "修武县" in reason


def test_a_new_date_keeps_the_previous_question():
    query, _ = rewrite_followup("那2020年呢？", [ZHOUZHUANG])
    assert query == "周庄镇2020年累计完成税收多少？"


def test_the_subject_carries_through_a_chain_of_followups():
    first = rewrite_followup("那工业增加值呢？", [ZHOUZHUANG])[0]
    second = rewrite_followup("那税收呢？", [ZHOUZHUANG, first])[0]
    assert second == "周庄镇 税收"


def test_without_entities_the_longest_nouns_are_the_subject():
    prev = "高速公路项目今年计划完成投资多少？"
    query, reason = rewrite_followup("那进度呢？", [prev])
    assert query.startswith("高速公路") and query.endswith("进度")
    assert "关键词" in reason
    assert rewrite_followup("这个项目什么时候完工？", [prev])[0].startswith("高速公路项目")


def test_traditional_chinese_keeps_its_script():
    query, _ = rewrite_followup("那菲律賓呢？", ["李登輝總統接見泰國僑胞時說了什麼？"])
    assert query.startswith("菲律賓")


def test_english_followups():
    prev = "How much tax did Zhouzhuang collect in 2021?"
    assert rewrite_followup("What about industrial output?", [prev])[0] == "Zhouzhuang industrial output"
    assert rewrite_followup("What did it spend on roads?", [prev])[0] == "What did Zhouzhuang spend on roads"


def test_the_reason_for_a_rewrite_is_in_the_question_s_language():
    prev = "How much tax did Zhouzhuang collect in 2021?"
    _, reason = rewrite_followup("What did it spend on roads?", [prev])
    assert reason == 'Follow-up: "it" replaced by the previous subject Zhouzhuang'
    _, reason = rewrite_followup("What about industrial output?", [prev])
    assert reason == "Follow-up: added the previous subject Zhouzhuang"
    _, reason = rewrite_followup("那工业增加值呢？", ["周庄镇2021年累计完成税收多少？"])
    assert reason == "追问：补上上一问的主题「周庄镇」"


@pytest.mark.parametrize(
    "question",
    [
        "周庄镇的工业增加值呢？",  # names the subject itself
        "李登輝總統接見泰國僑胞時說了什麼？",  # a new, complete question
        "高速公路项目今年计划完成投资多少？",
        "Who is the president of Taiwan?",
    ],
)
def test_standalone_questions_are_searched_as_asked(question):
    assert rewrite_followup(question, [ZHOUZHUANG]) == (question, "")


def test_the_first_question_is_never_rewritten():
    assert rewrite_followup("那工业增加值呢？", []) == ("那工业增加值呢？", "")


def test_chat_messages_are_accepted_as_history():
    history = [{"role": "user", "content": ZHOUZHUANG}, {"role": "assistant", "content": "1334万元"}]
    assert rewrite_followup("那工业增加值呢？", history)[0] == "周庄镇 工业增加值"


def test_is_followup():
    assert is_followup("那工业增加值呢？")
    assert is_followup("and exports?")
    assert not is_followup("周庄镇2021年累计完成税收多少？")
    assert not is_followup("")


def test_subject_merges_split_names():
    assert "蔡英文" in subject_of("蔡英文总统出访了哪些国家？").terms
    assert subject_of(ZHOUZHUANG).terms == ("周庄镇",)
