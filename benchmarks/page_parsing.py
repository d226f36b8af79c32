"""Page parsing on real article texts laid out the way text extraction delivers pages.

    python benchmarks/page_parsing.py [--pages 40] [--seeds 1 2 3] [--held-out]
    python benchmarks/page_parsing.py --speed 200 --compare-ref main

Pages are rendered from REAL article texts: the 63,603 news articles of
`../shared/news_corpus/crud_news_2023.jsonl.gz` (no headlines: a headline is written from
the article's own opening clause in the styles papers use: plain, kicker + title,
`——` subtitle, `X：Y`, `A，B`, a bracketed column name) and the bundled presidential
releases (`qa/data/sample/tw_president_news`, real headlines). Bylines, datelines, photo
credits, sub-heads and furniture follow real newspapers' conventions (see STYLES). Every
page carries its gold: article bodies, titles, byline names, captions and column breaks.

This generator is independent of `qa/page.py`: it imports nothing from it and shares no
helper; only `parse_page` (the system under test) is called. Three styles are used for
tuning (`city`, `national`, `wire`) and one (`heldout`) is kept apart: it mixes formats
differently, uses a two-line block gap and rarer surnames. Run it with `--held-out`.

Scores per layout:
* boundary F1: a parsed article matches a gold one when >= 90% of the gold body's
  sentences are in it and >= 90% of its sentences come from that gold article;
* title: exact title of matched articles; byline: all printed names recovered;
* caption leak: captions/credits whose text lands in an article body;
* rejoin: broken sentences found whole in the right article.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# PAGE_BENCH_QA: a directory holding another `qa` package to measure (e.g. an older commit)
sys.path.insert(0, os.environ.get("PAGE_BENCH_QA") or str(ROOT))

NEWS = ROOT.parent / "shared" / "news_corpus" / "crud_news_2023.jsonl.gz"
NEWS_ALT = Path("/work/shared/news_corpus/crud_news_2023.jsonl.gz")
PRESIDENT = ROOT / "qa" / "data" / "sample" / "tw_president_news" / "tw_president_news.jsonl"
LAYOUTS = ("clean", "colbreak_a", "colbreak_b", "single_blank", "long_briefs", "single_long", "roundup")
TUNING_STYLES = ("city", "national", "wire")
HELD_OUT_STYLE = "heldout"

# names: surnames as printed in bylines, common and rare (the parser must not need a list)
COMMON_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦"
RARE_SURNAMES = "禤隗逄郗訾笪仉谯蹇缑昌宓暴钭啜蒯"
GIVEN = "伟芳娜洋静帆磊敏杰昊明丽强军平华玲勇智慧文彬涛超斌鹏辉婷晶雪琳宇航浩然欣怡子轩梓涵一诺佳琪俊杰晓东春燕海波建国红梅志刚德胜"
PLACES = ["北京", "上海", "广州", "杭州", "成都", "武汉", "西安", "南京", "郑州", "长沙", "昆明", "哈尔滨", "乌鲁木齐", "拉萨"]
COLUMNS = ["人民观察", "新春走基层", "一线调研", "记者手记", "经济新方位", "微观"]
SECTION_NAMES = ["内容提要", "核心阅读"]
ROUNDUP_TITLES = ["简讯", "本地新闻速览", "经济快讯", "文体简讯"]
NUMERALS = "一二三四五六"


# --------------------------------------------------------------------------- sources


def _sentences(text: str) -> list[str]:
    out = [s.strip() for s in re.split(r"(?<=[。！？])(?![”’」』])", text) if s.strip()]
    return [s for s in out if len(s) >= 6]


def news_path() -> Path | None:
    """The shared news corpus (`../shared` beside the repository), or None."""
    for p in (NEWS, NEWS_ALT):
        if p.is_file():
            return p
    return None


def load_news(limit: int = 4000) -> list[list[str]]:
    """Real articles as lists of sentences (the corpus has no paragraph breaks)."""
    src = news_path()
    if src is None:
        raise FileNotFoundError(f"news corpus not found at {NEWS}")
    arts: list[list[str]] = []
    with gzip.open(src, "rt", encoding="utf-8") as fh:
        for k, line in enumerate(fh):
            if k % 13:
                continue
            text = json.loads(line)["text"]
            text = re.sub(r"广告声明：.*$", "", text).replace("。。", "。")
            if re.search(r"原标题|转自|来源：|责任编辑|分享让|点击|扫码|编辑|校对|摄\s|图为|showPlayer|\s{3}", text):
                continue  # web-page furniture of the scraped source, not newspaper text
            # the source's own dateline (`IT之家 8 月 16 日消息，`, `新华社北京电（记者…）`): ours replace it
            text = re.sub(r"^[^，。]{0,25}?(?:讯|电|消息|报道)\s*(?:[（(][^）)]*[)）])?\s*[，,：:]?", "", text)
            sents = _sentences(text)
            if 6 <= len(sents) <= 60 and all(len(s) < 220 for s in sents) and "\n" not in text:
                arts.append(sents)
            if len(arts) >= limit:
                break
    return arts


def load_president() -> list[tuple[str, list[str]]]:
    out = []
    for line in PRESIDENT.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        sents = _sentences(r["text"].replace("\n", ""))
        if r.get("title") and 6 <= len(sents) <= 60 and len(r["title"]) <= 28:
            out.append((r["title"].strip(), sents))
    return out


# --------------------------------------------------------------------------- gold


@dataclass
class GoldArticle:
    title: str
    paragraphs: list[str]
    names: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)  # caption and credit strings as printed
    breaks: list[str] = field(default_factory=list)  # text around each column break, joined


@dataclass
class Page:
    layout: str
    style: str
    text: str
    gold: list[GoldArticle]


class Writer:
    """Renders one page; `lines` with blank-line counts between them."""

    def __init__(self, rng: random.Random, style: str, single_blank: bool = False):
        self.rng, self.style = rng, style
        self.out: list[str] = []
        self.single = single_blank
        self.block_gap = 1 if single_blank else (2 if style == HELD_OUT_STYLE else rng.choice((2, 3, 3)))

    def block(self, *lines: str, joined: bool = False) -> None:
        """A layout block: lines one blank apart (or adjacent when `joined`)."""
        if self.out:
            self.out.extend([""] * self.block_gap)
        for k, ln in enumerate(lines):
            if k:
                self.out.extend([] if joined else [""])
            self.out.append(ln)

    def para(self, text: str, gap: int = 1) -> None:
        if self.out:
            self.out.extend([""] * (1 if self.single else gap))
        self.out.append(text)

    def text(self) -> str:
        return "\n".join(self.out) + "\n"


def _name(rng: random.Random, style: str) -> str:
    rare = style == HELD_OUT_STYLE and rng.random() < 0.4
    s = rng.choice(RARE_SURNAMES if rare else COMMON_SURNAMES)
    return s + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _date(rng: random.Random) -> str:
    return f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日"


def _spaced(name: str) -> str:
    """`何勇` printed `何  勇`, padded to the width of a three-character name."""
    return f"{name[0]}  {name[1]}" if len(name) == 2 else name


def byline_forms(rng: random.Random, style: str) -> tuple[str | None, str | None, list[str]]:
    """(byline line or None, dateline prefix for the first paragraph or None, names)."""
    a, b = _name(rng, style), _name(rng, style)
    place, day = rng.choice(PLACES), _date(rng)
    forms = {
        "city": [
            (None, f"本报讯 (记者{a} 通讯员{b}) ", [a, b]),
            (None, f"本报讯（记者 {a}）", [a]),
            (f"本报记者 {a}", None, [a]),
            (f"本报记者 {a} 通讯员 {b} 报道", None, [a, b]),
            (None, None, []),
        ],
        "national": [
            (None, f"本报{place}{day}电  （记者{a} {b}）", [a, b]),
            (f"本报记者  {_spaced(a)}  {_spaced(b)}", None, [a, b]),
            (f"本报记者  {_spaced(a)}", None, [a]),
            (None, f"本报{place}{day}电  （记者{a}）", [a]),
            (None, None, []),
        ],
        "wire": [
            (None, f"新华社{place}{day}电（记者{a}、{b}）", [a, b]),
            (None, f"据新华社{place}{day}电 （记者{a}）", [a]),
            (None, f"中新网{place}{day}电 (记者 {a})", [a]),
            (None, f"新华社{place}{day}电", []),
        ],
        HELD_OUT_STYLE: [
            (None, f"本报{place}电 （记者 {a} 实习生 {b}）", [a, b]),
            (f"记者 {a} {b}", None, [a, b]),
            (f"本报特约记者 {a}", None, [a]),
            (None, f"据新华社{place}{day}电 (记者{a})", [a]),
            (None, f"中新网{place}{day}电(记者 {a} {b})", [a, b]),
            (f"■本报记者 {a}", None, [a]),
            (None, None, []),
        ],
    }[style]
    return rng.choice(forms)


def caption_forms(rng: random.Random, style: str, clause: str) -> list[str]:
    """One photo caption as printed lines; the caption text is a clause of the article."""
    n = _name(rng, style)
    cap = clause.rstrip("，。；、") + "。"
    forms = [
        [f"{cap}本报记者 {n} 摄"],
        [cap, f"{n} 摄"],
        [f"{cap}{n}摄（新华社发）"],
        [f"{cap}（图片由受访者提供）"],
        [f"图①：{cap}本报记者 {n}摄"],
        [f"制图：{n}"],
    ]
    if style == HELD_OUT_STYLE:
        forms += [[f"{cap}新华社记者 {n} 摄"], [f"{cap}（资料图片）"], [f"图为{cap}{n}/摄"]]
    return rng.choice(forms)


def _clauses(sentence: str) -> list[str]:
    parts = re.split(r"[，,。！？；：:、]", sentence)
    return [p.strip() for p in parts if 6 <= len(p.strip()) <= 16 and not re.search(r"[0-9a-zA-Z]{4}|[“”「」『』（）()《》〈〉\[\]【】\s]", p)]


def headline(rng: random.Random, sents: list[str], real: str | None) -> tuple[list[str], str]:
    """(headline stack lines as printed, gold title)."""
    clauses = [c for s in sents[:4] for c in _clauses(s)]
    title = real or (clauses[0] if clauses else sents[0][:14].rstrip("，。"))
    others = [c for c in clauses if c != title] or ["记者调查"]
    shape = rng.random()
    if real:
        shape = min(shape, 0.45)
    if shape < 0.3:
        return [title], title
    if shape < 0.45:
        return [others[0], title], title  # kicker + title
    if shape < 0.55:
        return [title, "——" + others[0]], title  # title + dash subtitle
    if shape < 0.65:
        t = f"{title}（{rng.choice(COLUMNS)}）"
        return [t], t
    if shape < 0.75 and len(others[0]) <= 10 and len(title) <= 12:
        t = f"{title}，{others[0]}"
        return [t], t
    if shape < 0.85:
        t = f"{rng.choice(COLUMNS)}：{title}"
        return [t], t
    if shape < 0.92:
        return [others[0], title, "——" + others[-1]], title
    t = f"{title}——{others[0]}"
    return [t], t


def paragraphs(rng: random.Random, sents: list[str], most: int) -> list[str]:
    paras, cur = [], ""
    for s in sents:
        cur += s
        if len(cur) > rng.randint(60, 220):
            paras.append(cur)
            cur = ""
        if len(paras) >= most:
            break
    if cur and len(paras) < most:
        paras.append(cur)
    return paras


def _cut(rng: random.Random, para: str) -> tuple[str, str] | None:
    """Cut a paragraph inside a sentence (not at punctuation), as a column end does."""
    spots = [k for k in range(30, len(para) - 12) if para[k - 1] not in "，。！？；：、“”（）" and para[k] not in "，。！？；：、”）"]
    if not spots:
        return None
    k = rng.choice(spots)
    return para[:k], para[k:]


# --------------------------------------------------------------------------- page layouts


class Source:
    def __init__(self, rng: random.Random, news: list[list[str]], pres: list[tuple[str, list[str]]], style: str):
        self.rng, self.news, self.pres, self.style = rng, news, pres, style

    def article(self, most: int = 8, least: int = 1) -> tuple[list[str], str, list[str], GoldArticle, str | None, str | None]:
        """(headline stack, gold title, body paragraphs, gold, byline line, dateline)."""
        rng = self.rng
        for attempt in range(200):
            if self.pres and rng.random() < 0.25:
                real, sents = rng.choice(self.pres)
            else:
                real, sents = None, rng.choice(self.news)
            paras = paragraphs(rng, sents, max(least, rng.randint(least, most)))
            if len(paras) >= least - attempt // 50:
                break
        stack, title = headline(rng, sents, real)
        bl, dl, names = byline_forms(rng, self.style)
        gold = GoldArticle(title=title, paragraphs=list(paras), names=names)
        return stack, title, paras, gold, bl, dl


def _write_article(w: Writer, src: Source, art, *, captions: bool = True, stack_joined: bool = False) -> GoldArticle:
    stack, _title, paras, gold, bl, dl = art
    rng = src.rng
    if captions and rng.random() < 0.3:  # photo above the headline
        clause = (_clauses(paras[-1]) or ["现场图片"])[0]
        cap = caption_forms(rng, src.style, clause)
        w.block(*cap, joined=rng.random() < 0.5)
        gold.captions.extend(cap)
    w.block(*stack, joined=stack_joined)
    if bl:
        w.para(bl)
    first = (dl or "") + paras[0]
    w.para(first)
    for p in paras[1:]:
        w.para(p)
    if captions and rng.random() < 0.3:  # photo after the body
        clause = (_clauses(paras[0]) or ["资料图片"])[-1]
        cap = caption_forms(rng, src.style, clause)
        w.block(*cap, joined=rng.random() < 0.5)
        gold.captions.extend(cap)
    return gold


def page_clean(src: Source, single: bool = False) -> tuple[str, list[GoldArticle]]:
    rng = src.rng
    w = Writer(rng, src.style, single_blank=single)
    if rng.random() < 0.5:
        w.block(f"编辑：{_name(rng, src.style)} 校对：{_name(rng, src.style)}")
    golds = [_write_article(w, src, src.article(least=2)) for _ in range(rng.randint(2, 4))]
    return w.text(), golds


def page_colbreak_a(src: Source) -> tuple[str, list[GoldArticle]]:
    """The seed's shape: an article's own headline lands inside a sentence of its lead."""
    rng = src.rng
    w = Writer(rng, src.style)
    golds = []
    for k in range(rng.randint(2, 3)):
        art = src.article(least=3)
        stack, _t, paras, gold, bl, dl = art
        cut = _cut(rng, paras[1]) if k == 0 or rng.random() < 0.6 else None
        if cut is None:
            golds.append(_write_article(w, src, art))
            continue
        head, tail = cut
        w.block((dl or "") + paras[0])
        w.para(head)
        gaps = rng.choice((1, 2, 3))
        w.out.extend([""] * gaps)
        w.out.append(stack[0])
        for ln in stack[1:]:
            w.para(ln)
        if bl:
            w.para(bl)
        w.para(tail, gap=rng.choice((1, 2, 3)))
        for p in paras[2:]:
            w.para(p)
        gold.breaks.append(head[-6:] + tail[:6])
        golds.append(gold)
    return w.text(), golds


def page_colbreak_b(src: Source) -> tuple[str, list[GoldArticle]]:
    """A sentence breaks at a column end; another article's headline, byline and opening
    follow; then the broken sentence continues."""
    rng = src.rng
    w = Writer(rng, src.style)
    art = src.article(least=4)
    stack, _t, paras, gold, bl, dl = art
    k = rng.randint(1, len(paras) - 2)
    cut = _cut(rng, paras[k])
    w.block(*stack)
    if bl:
        w.para(bl)
    w.para((dl or "") + paras[0])
    for p in paras[1:k]:
        w.para(p)
    golds = [gold]
    if cut is None:
        for p in paras[k:]:
            w.para(p)
    else:
        head, tail = cut
        w.para(head)
        other = src.article(most=3, least=1)
        golds.append(_write_article(w, src, other, captions=False))
        w.block(tail)
        for p in paras[k + 1:]:
            w.para(p)
        gold.breaks.append(head[-6:] + tail[:6])
    if rng.random() < 0.5:
        golds.append(_write_article(w, src, src.article(least=2)))
    return w.text(), golds


def page_long_briefs(src: Source, single: bool = False) -> tuple[str, list[GoldArticle]]:
    """One long article with furniture and numbered sub-heads, then short briefs
    (`single`: every line one blank line apart, so gaps tell sub-heads from headlines nothing)."""
    rng = src.rng
    w = Writer(rng, src.style, single_blank=single)
    stack, _t, paras, gold, bl, dl = src.article(most=14, least=7)
    w.block(*stack)
    if bl:
        w.para(bl)
    if rng.random() < 0.5:
        w.para(rng.choice(SECTION_NAMES))
        w.para((dl or "") + paras[0])
        rest = paras[1:]
    else:
        w.para((dl or "") + paras[0])
        rest = paras[1:]
    n = 0
    for i, p in enumerate(rest):
        if i % 3 == 0 and i:
            clause = (_clauses(p) or ["持续推进"])[0]
            sub = f"{NUMERALS[n]}、{clause}" if rng.random() < 0.6 else clause
            n += 1
            w.para(sub, gap=1)
        w.para(p)
    golds = [gold]
    for _ in range(rng.randint(1, 3)):
        s, _t2, ps, g, bl2, dl2 = src.article(most=2, least=1)
        line = s[0] if len(s) == 1 else g.title
        g.title = line
        w.block(line)
        if bl2:
            w.para(bl2)
        w.para((dl2 or "") + ps[0])
        for p in ps[1:]:
            w.para(p)
        golds.append(g)
    return w.text(), golds


def names_in_dateline(dl: str | None) -> list[str]:
    if not dl:
        return []
    m = re.search(r"[（(](.*)[)）]", dl)
    if not m:
        return []
    return [t for t in re.split(r"[\s、]+", re.sub(r"记者|通讯员|实习生", " ", m.group(1))) if t]


def page_roundup(src: Source) -> tuple[str, list[GoldArticle]]:
    """Several short items under one headline (简讯): one article."""
    rng = src.rng
    w = Writer(rng, src.style)
    golds = []
    if rng.random() < 0.6:
        golds.append(_write_article(w, src, src.article(least=2)))
    title = rng.choice(ROUNDUP_TITLES)
    w.block(title)
    items, names = [], []
    for _ in range(rng.randint(3, 5)):
        sents = rng.choice(src.news)
        item = "".join(sents[: rng.randint(1, 3)])
        a = _name(rng, src.style)
        if rng.random() < 0.6:
            item = f"本报讯（记者 {a}）{item}"
            names.append(a)
        elif rng.random() < 0.5:
            item = "■" + item
        items.append(item)
        w.para(item)
    golds.append(GoldArticle(title=title, paragraphs=[re.sub(r"^(■|本报讯（记者 [^）]+）)", "", i) for i in items], names=names[:1]))
    if rng.random() < 0.5:
        golds.append(_write_article(w, src, src.article(least=2)))
    return w.text(), golds


def make_pages(layout: str, style: str, seed: int, n: int, news, pres) -> list[Page]:
    rng = random.Random(f"{layout}-{style}-{seed}")
    src = Source(rng, news, pres if style in ("city", HELD_OUT_STYLE) else [], style)
    build = {
        "clean": lambda: page_clean(src),
        "single_blank": lambda: page_clean(src, single=True),
        "colbreak_a": lambda: page_colbreak_a(src),
        "colbreak_b": lambda: page_colbreak_b(src),
        "long_briefs": lambda: page_long_briefs(src),
        "single_long": lambda: page_long_briefs(src, single=True),
        "roundup": lambda: page_roundup(src),
    }[layout]
    pages = []
    for _ in range(n):
        text, gold = build()
        pages.append(Page(layout, style, text, gold))
    return pages


# --------------------------------------------------------------------------- scoring


def _norm(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _sent_set(text: str) -> set[str]:
    parts = (x for para in text.split("\n\n") for x in re.split(r"(?<=[。！？])", para))
    return {s for s in map(_norm, parts) if len(s) >= 8 and s[-1] in "。！？”"}


@dataclass
class Score:
    gold: int = 0
    parsed: int = 0
    matched: int = 0
    titles: int = 0
    bylines_printed: int = 0
    bylines_found: int = 0
    captions: int = 0
    captions_leaked: int = 0
    breaks: int = 0
    rejoined: int = 0

    def add(self, o: "Score") -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(o, k))

    def row(self) -> dict[str, float | None]:
        p = self.matched / self.parsed if self.parsed else 0.0
        r = self.matched / self.gold if self.gold else 0.0
        pct = lambda a, b: (100.0 * a / b) if b else None  # noqa: E731
        return {
            "boundary_f1": 100.0 * 2 * p * r / (p + r) if p + r else 0.0,
            "title": pct(self.titles, self.matched),
            "byline": pct(self.bylines_found, self.bylines_printed),
            "caption_leak": pct(self.captions_leaked, self.captions),
            "rejoin": pct(self.rejoined, self.breaks),
        }


def score_page(page: Page, parsed) -> Score:
    sc = Score(gold=len(page.gold), parsed=len(parsed.articles))
    psets = [_sent_set(a.body) for a in parsed.articles]
    bodies = [_norm(a.body) for a in parsed.articles]
    used: set[int] = set()
    for g in page.gold:
        gs = _sent_set("\n\n".join(g.paragraphs))
        match = None
        for k, ps in enumerate(psets):
            if k in used or not gs or not ps:
                continue
            inter = len(gs & ps)
            if inter >= 0.9 * len(gs) and inter >= 0.9 * len(ps):
                match = k
                break
        if g.names:
            sc.bylines_printed += 1
        for b in g.breaks:
            sc.breaks += 1
            if match is not None and _norm(b) in bodies[match]:
                sc.rejoined += 1
        if match is None:
            continue
        used.add(match)
        sc.matched += 1
        a = parsed.articles[match]
        sc.titles += _norm(a.title) == _norm(g.title)
        if g.names:
            got = _norm(a.byline or "")
            sc.bylines_found += all(n in got for n in g.names)
    alltext = "\n".join(bodies)
    goldtext = "\n".join(_norm(p) for g in page.gold for p in g.paragraphs)
    for g in page.gold:
        for c in g.captions:
            # leak: the caption line as printed shows up in a body; a caption line whose
            # words are also article text (captions quote the article) cannot be judged
            key = _norm(c)
            if key in goldtext:
                continue
            sc.captions += 1
            sc.captions_leaked += key in alltext
    return sc


def run(pages: list[Page], parse) -> tuple[dict[str, Score], float]:
    by: dict[str, Score] = {}
    t0 = time.perf_counter()
    parsed = [parse(p.text) for p in pages]
    dt = time.perf_counter() - t0
    for p, r in zip(pages, parsed):
        by.setdefault(p.layout, Score()).add(score_page(p, r))
    return by, len(pages) / dt if dt else 0.0


def print_table(title: str, by: dict[str, Score]) -> None:
    print(f"\n{title}")
    print("| layout | articles | boundary F1 | title exact | byline | captions judged | caption leak | breaks | rejoin |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    total = Score()
    for lay in LAYOUTS:
        if lay not in by:
            continue
        total.add(by[lay])
        _row(lay, by[lay])
    _row("all", total)


def _row(name: str, s: Score) -> None:
    r = s.row()
    f = lambda v: "–" if v is None else f"{v:.1f}%"  # noqa: E731
    print(f"| {name} | {s.gold} | {f(r['boundary_f1'])} | {f(r['title'])} | {f(r['byline'])} | {s.captions} | {f(r['caption_leak'])} | {s.breaks} | {f(r['rejoin'])} |")


def speed(n: int, news, pres) -> float:
    from qa.page import parse_page

    print(f"parser: {sys.modules['qa.page'].__file__}", file=sys.stderr)
    pages = []
    for k in range(n):
        lay = LAYOUTS[k % len(LAYOUTS)]
        pages += make_pages(lay, TUNING_STYLES[k % 3], 1000 + k, 1, news, pres)
    best = 0.0
    for _ in range(3):  # CPU time, best of three: the machine is shared, wall time is noisy
        t0 = time.process_time()
        for p in pages:
            parse_page(p.text)
        best = max(best, n / (time.process_time() - t0))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=40, help="pages per layout, style and seed (default 40)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--held-out", action="store_true", help="also score the held-out style")
    ap.add_argument("--layouts", nargs="+", default=list(LAYOUTS))
    ap.add_argument("--speed", type=int, default=0, help="only time parse_page on this many pages")
    ap.add_argument("--compare-ref", help="with --speed: also time the parser of this git ref, alternating")
    ap.add_argument("--dump", type=int, default=0, help="print this many failing pages per layout")
    args = ap.parse_args()
    if news_path() is None:
        sys.exit(f"news corpus not found at {NEWS}")
    news, pres = load_news(), load_president()
    if args.speed:
        if not args.compare_ref:
            print(f"{speed(args.speed, news, pres):.1f} pages per CPU second")
            return
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(f"git -C {ROOT} archive {args.compare_ref} qa | tar -x -C {tmp}", shell=True, check=True)
            for rnd in range(2):
                for label, path in ((args.compare_ref, tmp), ("worktree", str(ROOT))):
                    out = subprocess.run([sys.executable, __file__, "--speed", str(args.speed)], env={"PAGE_BENCH_QA": path, "PATH": "/usr/bin"},
                                         capture_output=True, text=True, check=True).stdout.strip()
                    print(f"round {rnd + 1} {label}: {out}  (load {Path('/proc/loadavg').read_text().split()[0]})")
        return
    from qa.page import parse_page

    styles = list(TUNING_STYLES) + ([HELD_OUT_STYLE] if args.held_out else [])
    for style_set, label in ((TUNING_STYLES, "tuning styles (city, national, wire)"), ((HELD_OUT_STYLE,), "held-out style")):
        if not set(style_set) & set(styles):
            continue
        pages = [p for lay in args.layouts for st in style_set for sd in args.seeds for p in make_pages(lay, st, sd, args.pages, news, pres)]
        by, rate = run(pages, parse_page)
        print_table(f"{label}: {len(pages)} pages, seeds {args.seeds}, {rate:.0f} pages/s", by)
        if args.dump:
            _dump(pages, parse_page, args.dump)
    print(f"\nload average {Path('/proc/loadavg').read_text().split()[0]}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def _dump(pages: list[Page], parse, n: int) -> None:
    shown: dict[str, int] = {}
    for p in pages:
        r = parse(p.text)
        s = score_page(p, r)
        bad = s.matched < s.gold or s.parsed != s.gold or s.titles < s.matched or s.bylines_found < s.bylines_printed or s.captions_leaked or s.rejoined < s.breaks
        if not bad or shown.get(p.layout, 0) >= n:
            continue
        shown[p.layout] = shown.get(p.layout, 0) + 1
        print(f"\n===== {p.layout}/{p.style} {s}")
        print(p.text[:3000])
        print("--- gold:", [(g.title, g.names, _norm(g.paragraphs[0])[:12], _norm(g.paragraphs[-1])[-12:]) for g in p.gold])
        print("--- parsed:", [(a.title, a.byline, _norm(a.body)[:12], _norm(a.body)[-12:]) for a in r.articles])


if __name__ == "__main__":
    main()
