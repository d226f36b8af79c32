"""PDF e-paper pages: a real three-column page printed by Chromium, read back by
`pdf_to_text` (columns and wrapped lines put back into paragraphs) and `read_page`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from qa.page import parse_page, read_page
from qa.page_formats import pdf_to_text

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

A_TITLE, A_BYLINE = "稳就业工作取得新进展", "本报记者 王芳"
A_PARAS = [
    "市政府今天召开新闻发布会，介绍今年以来全市稳就业工作进展情况。据介绍，今年前五个月全市城镇新增就业六万余人，完成全年目标的百分之四十六，就业形势总体稳定。",
    "下一步，有关部门将继续加大职业技能培训力度，拓宽高校毕业生就业渠道，开展线上线下招聘活动，帮助重点群体尽快实现就业，确保零就业家庭动态清零。",
    "市人力资源和社会保障局相关负责人表示，今年将新建十个零工市场，为灵活就业人员提供岗位信息、技能培训和权益维护等一站式服务。",
]
B_TITLE, B_BYLINE = "公园延长开放时间", "本报记者 李娜"
B_PARAS = [
    "六月一日起，我市十二个公园延长开放时间，市民晚间游园更加方便。市园林部门相关负责人表示，延时开放期间将加强安全巡查和保洁服务。",
    "据了解，延时开放将持续到十月底，各公园将根据游客数量适时调整照明和安保力量。",
]
CAPTION, CREDIT = "市民在滨江公园夜跑。", "本报记者 张伟 摄"


def _html() -> str:
    def story(title: str, byline: str, paras: list[str]) -> str:
        ps = "".join(f"<p>{p}</p>" for p in paras)
        return f'<div class="story"><h1>{title}</h1><p class="by">{byline}</p>{ps}</div>'

    return (
        '<!doctype html><html><head><meta charset="utf-8"><style>'
        "@page { size: A4; margin: 15mm; } body { font-size: 11pt; line-height: 1.5; }"
        ".cols { column-count: 3; column-gap: 8mm; } h1 { font-size: 16pt; margin: 0 0 4mm 0; }"
        "p { margin: 0 0 3mm 0; text-indent: 2em; } p.by, p.cap { text-indent: 0; } .story { margin-bottom: 9mm; }"
        ".cap { font-size: 9pt; }"
        '</style></head><body><div class="cols">'
        + story(A_TITLE, A_BYLINE, A_PARAS)
        + f'<p class="cap">{CAPTION}{CREDIT}</p>'
        + story(B_TITLE, B_BYLINE, B_PARAS)
        + "</div></body></html>"
    )


@pytest.fixture(scope="module")
def column_pdf(tmp_path_factory) -> Path:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed; the column PDF is printed with it")
    d = tmp_path_factory.mktemp("pdfpage") / "人民日报" / "2023-06-03"
    d.mkdir(parents=True)
    html = d / "page.html"
    html.write_text(_html(), encoding="utf-8")
    pdf = d / "05.pdf"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    if not pdf.is_file():
        pytest.skip("chromium could not print the page to PDF")
    html.unlink()
    return pdf


def test_pdf_columns_are_unwrapped_into_paragraphs(column_pdf: Path) -> None:
    text = pdf_to_text(column_pdf)
    for p in A_PARAS + B_PARAS:
        assert p in text, p  # wrapped lines and column breaks joined, radicals folded (`⼯` -> `工`)
    assert "\n\n\n" in text.split(B_TITLE)[0][-6:] or text.split(B_TITLE)[0].endswith("\n\n\n\n")


def test_pdf_page_parses_like_a_text_page(column_pdf: Path) -> None:
    page = parse_page(pdf_to_text(column_pdf))
    a, b = page.articles
    assert (a.title, a.byline, list(a.paragraphs)) == (A_TITLE, A_BYLINE, A_PARAS)
    assert (b.title, b.byline, list(b.paragraphs)) == (B_TITLE, B_BYLINE, B_PARAS)
    # the caption wraps inside its credit, where the space was: the credit is whole all the same
    assert [(c.text, (c.credit or "").replace(" ", "")) for c in a.captions] == [(CAPTION, CREDIT.replace(" ", ""))]
    records = read_page(column_pdf)
    assert [r.title for r in records if r.metadata["kind"] == "article"] == [A_TITLE, B_TITLE]
    assert records[0].id == "人民日报-2023-06-03-05-01" and records[0].source_line is None
