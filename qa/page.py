"""Turn one newspaper page, as extracted from its layout, into article records.

Layout extraction reads a page block by block, so the text interleaves things that are
not body: the editor line, photo captions and credits, headline stacks that land in the
middle of a sentence where a column broke, bylines and datelines. Each of those is
recognised by one small named rule below (no statistics), and a single walk over the
classified lines assembles articles:

* `编辑:… | 校对:…` lines become page metadata (`ParsedPage.editors`), never body;
* `… 摄` credits, the caption before them, and short stand-alone sentences set off by
  block gaps become `Caption`s of the article they sit in (captions before the first
  article belong to it), so a question about a photo can find its caption;
* a short unpunctuated line is a heading; it opens an article when something says so
  (a byline or dateline follows, it is a stack of two or more lines, a block gap precedes
  it, it interrupts a sentence, or there is no article yet), otherwise it is a section
  sub-head and stays in the body as its own paragraph;
* a paragraph that ends without sentence-final punctuation is continued by the next body
  paragraph, across any captions, headings and bylines in between (column breaks).

A "block gap" is two or more blank lines, which is how layout extraction separates
blocks (the seed page uses three) while paragraphs are separated by one blank line.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .dates import calendar_date, iso_date
from .errors import BadInputError
from .records import ArticleRecord
from .textio import read_text

logger = logging.getLogger(__name__)

BLOCK_GAP = 2  # blank lines that separate layout blocks rather than paragraphs
MAX_HEADING_CHARS = 40
MAX_CAPTION_CHARS = 80
MAX_BARE_CAPTION_CHARS = 15


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Caption:
    """A photo caption and its credit (`本报记者 吉亚南 摄`); either may stand alone."""

    text: str
    credit: str | None = None


@dataclass(frozen=True)
class PageArticle:
    """One article recovered from a page. `title` is "" when the page printed none.

    `heads` keeps secondary heading lines (a second kicker/title deck) that are neither
    kicker, title nor subtitle; `dateline` is e.g. `本报讯`; `line` is the 1-based line of
    the article's first line in the page text.
    """

    title: str
    kicker: str | None
    subtitle: str | None
    byline: str | None
    paragraphs: tuple[str, ...]
    captions: tuple[Caption, ...] = ()
    notes: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()
    dateline: str | None = None
    line: int | None = None

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True)
class ParsedPage:
    """Articles in page order, the editor line as a dict, page-level notes (furniture,
    notes outside any article) and captions that belong to no article."""

    articles: tuple[PageArticle, ...]
    editors: dict[str, str]
    notes: tuple[str, ...] = ()
    captions: tuple[Caption, ...] = ()


@dataclass(frozen=True)
class PageMeta:
    """Date (ISO), page label ("03", "A2") and newspaper name of one page file."""

    date: str | None = None
    page: str | None = None
    source: str | None = None


# --------------------------------------------------------------------------- line rules

_SENTENCE_END = set("。！？!?；;…」』”’）)】.：:")
_HEADING_BAD_END = set("。！？!?；;，,、：:…")
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_NAME = rf"[{_CJK}][{_CJK}·]{{1,7}}"
_ROLE = r"(?:本报)?(?:特约|实习|见习|首席)?(?:摄影记者|记者|通讯员|实习生|摄影)"
_BYLINE_RE = re.compile(rf"^{_ROLE}[\s:：]*{_NAME}(?:[\s、]+(?:{_ROLE}[\s:：]*)?{_NAME})*$")
_CREDIT_RE = re.compile(rf"^(?:{_ROLE}[\s:：]*)?{_NAME}(?:[\s、/]+(?:{_ROLE}[\s:：]*)?{_NAME})*\s*摄$")
_CREDIT_START_AFTER = set("。！？!?”」』）) \t\u3000")
_DATELINE_RE = re.compile(
    r"^(?P<dateline>本报讯|本报[^\s（(]{1,6}讯|新华社[^\s（(]{2,14}电|[^\s（(，,。]{2,8}讯)"
    r"\s*[（(](?P<byline>[^（()）]{2,40})[)）]\s*"
)
_EDITOR_KEYS = (
    "责任编辑", "图片编辑", "值班编辑", "值班主任", "责编", "编辑", "美编", "校对", "组版",
    "版式", "排版", "审读", "主编", "制图", "设计", "审核", "终审", "二审", "一审", "初审",
)
_EDITOR_KEY_RE = re.compile(r"(?:本版)?(" + "|".join(_EDITOR_KEYS) + r")\s*(?:[:：]|\s)\s*")
_EDITOR_SEPARATORS = " \t\u3000|｜/／、"
_NOTE_RE = re.compile(r"^[（(][^（()）]{2,80}[)）]$")
_FURNITURE_RES = (
    re.compile(r"^第?\s*[A-Za-z]?\d{1,3}\s*版(?:\s*[:：]?\s*\S{0,10})?$"),
    re.compile(r"^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日(?:\s*星期[一二三四五六日天])?$"),
    re.compile(r"^[A-Za-z]?\d{1,3}$"),
)
# Common single-character surnames (simplified and traditional forms) and compound ones:
# a byline or credit names people, and `记者蹲点` (a kicker) does not start with a surname.
_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向"
    "汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季"
    "裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚"
    "岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟"
    "邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井"
    "祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆"
    "茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"
    "張劉陳楊黃趙吳孫馬鄭羅謝許韓馮鄧蕭葉蘇呂盧鍾譚陸賈韋鄒龍賀顧龔萬錢嚴湯溫莊聶魯蘭寧紀畢單駱藍遊鮑饒婁竇"
    "嶽齊喬龐顏鄔邊師欒鄺閔臧歐關塗廖蔣謝"
)
_COMPOUND_SURNAMES = ("欧阳", "歐陽", "司马", "司馬", "上官", "诸葛", "諸葛", "东方", "東方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯", "长孙", "宇文", "司徒", "端木", "独孤")
_DASH_RE = re.compile(r"^\s*(?:——|—|--|－－)\s*")
_PLACE_KICKER_RE = re.compile(rf"^(?P<place>[{_CJK}]{{1,5}}(?:镇|乡|县|区|村|街道|社区))\s+(?P<rest>.{{6,}})$")


def looks_like_name(token: str) -> bool:
    """A person's name in a byline: 2-4 characters starting with a common surname
    (transliterated names with `·` are accepted as they are)."""
    if "·" in token:
        return 2 <= len(token) <= 16
    if token.startswith(_COMPOUND_SURNAMES):
        return 3 <= len(token) <= 4
    return 2 <= len(token) <= 4 and token[0] in _SURNAMES


def _names_in(credit_or_byline: str) -> list[str]:
    bare = re.sub(_ROLE, " ", credit_or_byline).replace("摄", " ")
    return [t for t in re.split(r"[\s、/:：]+", bare) if t]


def ends_sentence(text: str) -> bool:
    """True when a paragraph ends with sentence-final punctuation; False means the text
    was cut by a column break and the next body paragraph continues it."""
    t = text.rstrip()
    return bool(t) and t[-1] in _SENTENCE_END


def parse_editor_line(line: str) -> dict[str, str] | None:
    """`编辑:金桂香 | 校对:谢欣汝 | 组版:许建林` -> {"编辑": "金桂香", ...}; None otherwise.

    The whole line must be key/value pairs with known desk roles, so a body sentence that
    mentions an editor is not mistaken for the masthead line."""
    s = line.strip()
    keys = list(_EDITOR_KEY_RE.finditer(s))
    if not keys or keys[0].start() != 0:
        return None
    out: dict[str, str] = {}
    for k, nxt in zip(keys, keys[1:] + [None]):
        value = s[k.end(): nxt.start() if nxt else len(s)].strip(_EDITOR_SEPARATORS)
        if not value or len(value) > 12 or re.search(r"[。，,；;！？!?]", value):
            return None
        out[k.group(1)] = re.sub(r"\s+", " ", value)
    return out


def split_credit(line: str) -> tuple[str, str] | None:
    """Split a trailing photo credit off a line: `走访企业。本报记者 吉亚南 摄` ->
    ("走访企业。", "本报记者 吉亚南 摄"); a credit alone gives ("", credit); None if none.

    A credit may only start at the line start or after punctuation/space, so body text
    ending in a verb like `拍摄` is not read as a credit."""
    s = line.strip()
    if not s.endswith("摄") or len(s) > MAX_CAPTION_CHARS + 30:
        return None
    for pos in range(len(s)):
        if pos and s[pos - 1] not in _CREDIT_START_AFTER:
            continue
        tail = s[pos:].strip()
        if _CREDIT_RE.match(tail) and all(looks_like_name(n) for n in _names_in(tail)):
            caption = s[:pos].strip()
            if len(caption) > MAX_CAPTION_CHARS:
                return None
            return caption, re.sub(r"\s+", " ", tail)
    return None


def parse_byline(line: str) -> str | None:
    """`本报记者 梁智玲` / `记者 张三 通讯员 李四` -> the byline; None for anything else."""
    s = re.sub(r"\s+", " ", line.strip())
    if len(s) > 40 or s.endswith("摄"):
        return None
    if not _BYLINE_RE.match(s):
        return None
    return s if all(looks_like_name(n) for n in _names_in(s)) else None


def split_dateline(paragraph: str) -> tuple[str, str, str] | None:
    """`本报讯 (记者段美如 通讯员段玉明) 2022年…` -> ("本报讯", "记者段美如 通讯员段玉明",
    "2022年…"). The parenthesis must name a reporter role, so `喜讯(…)` is not a dateline."""
    m = _DATELINE_RE.match(paragraph.strip())
    if not m or not re.search(r"记者|通讯员|实习生|摄影", m.group("byline")):
        return None
    rest = paragraph.strip()[m.end():].strip()
    return m.group("dateline"), re.sub(r"\s+", " ", m.group("byline").strip()), rest


def is_note(line: str) -> bool:
    """A line wholly in parentheses, e.g. `(本栏图片除署名外均由周庄镇提供)`: an editorial
    note about the section, kept as metadata rather than body."""
    return bool(_NOTE_RE.match(line.strip()))


def is_page_furniture(line: str) -> bool:
    """Page labels and running dates (`第03版`, `2022年3月15日 星期二`, `A2`): page metadata."""
    s = line.strip()
    return any(r.match(s) for r in _FURNITURE_RES)


def is_heading_shaped(line: str) -> bool:
    """Short, no sentence punctuation at the end or inside: could be a headline, kicker,
    subtitle or section sub-head (context decides which)."""
    s = line.strip()
    if not (2 <= len(s) <= MAX_HEADING_CHARS) or s[-1] in _HEADING_BAD_END:
        return False
    if any(c in s for c in "。；;"):
        return False
    parts = re.split(r"[，,]", s)
    # `稳字当头，进中求新`: a comma only between two short parallel phrases; a longer run
    # with a comma is the start of a sentence cut by a column break
    return len(parts) == 1 or (len(parts) == 2 and all(len(x.strip()) <= 8 for x in parts))


def looks_like_bare_caption(line: str) -> bool:
    """`抗洪抢险。`: one very short sentence with no inner punctuation. Only a caption when
    the layout also sets it apart (block gaps around it); the walk checks that."""
    s = line.strip()
    if not (2 <= len(s) <= MAX_BARE_CAPTION_CHARS) or s[-1] not in "。！!":
        return False
    return not re.search(r"[。，,、；;：:！!？?]", s[:-1])


def split_heading_stack(lines: list[str]) -> tuple[str | None, str, str | None, tuple[str, ...]]:
    """Kicker, title, subtitle and extra heads of a headline stack.

    One line is the title; two lines are kicker + title, unless the second starts with a
    dash (`——…`), which marks a subtitle; three or more are kicker, title, subtitle, rest."""
    clean = [re.sub(r"\s+", " ", x.strip()) for x in lines]
    if len(clean) == 1:
        kicker, title = split_place_kicker(clean[0])
        return kicker, title, None, ()
    if len(clean) == 2:
        if _DASH_RE.match(clean[1]):
            return None, clean[0], _DASH_RE.sub("", clean[1]), ()
        return clean[0], clean[1], None, ()
    return clean[0], clean[1], _DASH_RE.sub("", clean[2]), tuple(clean[3:])


def split_place_kicker(title: str) -> tuple[str | None, str]:
    """`周庄镇 党建引领激活乡村振兴 一池春水` -> ("周庄镇", "党建引领激活乡村振兴 一池春水"):
    a place name set before the headline is a kicker, not part of the title."""
    m = _PLACE_KICKER_RE.match(title)
    if not m:
        return None, title
    return m.group("place"), m.group("rest").strip()


def join_broken(head: str, tail: str) -> str:
    """Rejoin a sentence cut by a column break: `…智` + `造强县…` -> `…智造强县…`.
    Chinese has no spaces between words, so the halves are concatenated as they are."""
    return head.rstrip() + tail.lstrip()


def starts_article(
    *,
    has_article: bool,
    stack_size: int,
    followed_by_byline: bool,
    gap_before: int,
    after_open_sentence: bool,
) -> bool:
    """Does a heading stack open a new article (True) or is it a section sub-head inside
    the current one (False)? Sub-heads are single lines between finished paragraphs."""
    return (
        not has_article
        or followed_by_byline
        or stack_size >= 2
        or gap_before >= BLOCK_GAP
        or after_open_sentence
    )


# --------------------------------------------------------------------------- classification


@dataclass(frozen=True)
class _Unit:
    kind: str  # editor | furniture | caption | bare_caption | credit | note | byline | heading | body
    text: str
    line: int
    gap_before: int
    gap_after: int
    caption: Caption | None = None
    editors: dict[str, str] | None = None
    dateline: str | None = None
    byline: str | None = None


def _split_lines(text: str) -> list[tuple[int, str, int, int]]:
    """Non-blank lines as (line number, text, blank lines before, blank lines after)."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "").split("\n")
    found: list[tuple[int, str]] = [(i + 1, ln.strip(" \t\u3000\xa0")) for i, ln in enumerate(raw)]
    found = [(n, s) for n, s in found if s]
    out: list[tuple[int, str, int, int]] = []
    for k, (n, s) in enumerate(found):
        before = n - found[k - 1][0] - 1 if k else BLOCK_GAP  # page start counts as a gap
        after = found[k + 1][0] - n - 1 if k + 1 < len(found) else BLOCK_GAP
        out.append((n, s, before, after))
    return out


def _classify_line(n: int, s: str, before: int, after: int) -> _Unit:
    editors = parse_editor_line(s)
    if editors:
        return _Unit("editor", s, n, before, after, editors=editors)
    if is_page_furniture(s):
        return _Unit("furniture", s, n, before, after)
    credit = split_credit(s)
    if credit is not None:
        cap, who = credit
        if cap:
            return _Unit("caption", s, n, before, after, caption=Caption(cap, who))
        return _Unit("credit", who, n, before, after)
    if is_note(s):
        return _Unit("note", s, n, before, after)
    byline = parse_byline(s)
    if byline:
        return _Unit("byline", byline, n, before, after)
    dl = split_dateline(s)
    if dl:
        return _Unit("body", dl[2], n, before, after, dateline=dl[0], byline=dl[1])
    if is_heading_shaped(s):
        return _Unit("heading", re.sub(r"\s+", " ", s), n, before, after)
    if looks_like_bare_caption(s) and before >= BLOCK_GAP and after >= BLOCK_GAP:
        return _Unit("bare_caption", s, n, before, after, caption=Caption(s, None))
    return _Unit("body", s, n, before, after)


def _attach_credits(units: list[_Unit]) -> list[_Unit]:
    """A credit line on its own names the photo whose caption is the short line just
    above it (`周庄镇农村党组织书记…考核会。` / `本报记者 吉亚南 摄`)."""
    out: list[_Unit] = []
    for u in units:
        if u.kind != "credit":
            out.append(u)
            continue
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.kind in ("body", "heading", "bare_caption")
            and prev.dateline is None
            and len(prev.text) <= MAX_CAPTION_CHARS
            and prev.gap_after <= 1
        ):
            out[-1] = _Unit("caption", prev.text, prev.line, prev.gap_before, u.gap_after, caption=Caption(prev.text, u.text))
        else:
            out.append(_Unit("caption", u.text, u.line, u.gap_before, u.gap_after, caption=Caption("", u.text)))
    return out


def classify_lines(text: str) -> list[_Unit]:
    """Every non-blank line with its kind (see `_Unit.kind`), credits merged into captions."""
    return _attach_credits([_classify_line(*row) for row in _split_lines(text)])


# --------------------------------------------------------------------------- assembly


@dataclass
class _Draft:
    title: str = ""
    kicker: str | None = None
    subtitle: str | None = None
    heads: list[str] = field(default_factory=list)
    byline: str | None = None
    dateline: str | None = None
    paragraphs: list[str] = field(default_factory=list)
    captions: list[Caption] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    line: int | None = None
    open_sentence: bool = False  # last body paragraph was cut by a column break
    piece_start: int = 0  # where the last body line begins inside the last paragraph
    piece_new_block: bool = False  # that line began a layout block (block gap above it)

    def add_body(self, text: str, new_block: bool = False) -> None:
        if self.open_sentence and self.paragraphs:
            self.piece_start = len(self.paragraphs[-1].rstrip())
            self.paragraphs[-1] = join_broken(self.paragraphs[-1], text)
        else:
            self.piece_start = 0
            self.paragraphs.append(text)
        self.piece_new_block = new_block
        self.open_sentence = not ends_sentence(text)

    def take_fragment(self) -> str | None:
        """The cut-off sentence start right above a headline, taken out of this article.

        When that line began a new layout block but was glued to this article's own
        unfinished last sentence, only the line is taken: it starts the next article."""
        if not self.paragraphs:
            return None
        if self.piece_start and self.piece_new_block:
            last = self.paragraphs[-1]
            self.paragraphs[-1] = last[: self.piece_start]
            moved = last[self.piece_start :]
        else:
            moved = self.paragraphs.pop()
        self.open_sentence = bool(self.paragraphs) and not ends_sentence(self.paragraphs[-1])
        self.piece_start, self.piece_new_block = 0, False
        return moved

    def set_heads(self, stack: list[str]) -> None:
        self.kicker, self.title, self.subtitle, extra = split_heading_stack(stack)
        self.heads.extend(extra)

    def add_deck(self, stack: list[str]) -> None:
        """A second heading stack right under the title (before any body): a sub-deck
        such as `强举措 优服务 抓落实` / `市高速公路建设指挥部高质量推进项目建设`."""
        lines = [re.sub(r"\s+", " ", x) for x in stack]
        if self.subtitle is None:
            self.subtitle = _DASH_RE.sub("", lines[-1])
            self.heads.extend(lines[:-1])
        else:
            self.heads.extend(lines)

    def freeze(self) -> PageArticle:
        return PageArticle(
            title=self.title,
            kicker=self.kicker,
            subtitle=self.subtitle,
            byline=self.byline,
            paragraphs=tuple(self.paragraphs),
            captions=tuple(self.captions),
            notes=tuple(self.notes),
            heads=tuple(self.heads),
            dateline=self.dateline,
            line=self.line,
        )


class _Walker:
    """One pass over classified lines; keeps the article being built and what came before it."""

    def __init__(self) -> None:
        self.drafts: list[_Draft] = []
        self.editors: dict[str, str] = {}
        self.page_notes: list[str] = []
        self.pending_captions: list[Caption] = []
        self.pending_byline: str | None = None
        self.prev: _Unit | None = None

    @property
    def current(self) -> _Draft | None:
        return self.drafts[-1] if self.drafts else None

    def new_draft(self, line: int) -> _Draft:
        d = _Draft(line=line, captions=self.pending_captions, byline=self.pending_byline)
        self.pending_captions, self.pending_byline = [], None
        self.drafts.append(d)
        return d

    def run(self, units: list[_Unit]) -> None:
        i = 0
        while i < len(units):
            u = units[i]
            if u.kind == "heading":
                j = i + 1
                while j < len(units) and units[j].kind == "heading" and units[j].gap_before < BLOCK_GAP:
                    j += 1
                self.on_headings(units[i:j], units[j] if j < len(units) else None)
                self.prev = units[j - 1]
                i = j
                continue
            getattr(self, f"on_{u.kind}")(u)
            self.prev = u
            i += 1

    def on_editor(self, u: _Unit) -> None:
        self.editors.update(u.editors or {})

    def on_furniture(self, u: _Unit) -> None:
        self.page_notes.append(u.text)

    def on_note(self, u: _Unit) -> None:
        (self.current.notes if self.current else self.page_notes).append(u.text)

    def on_caption(self, u: _Unit) -> None:
        assert u.caption is not None
        (self.current.captions if self.current else self.pending_captions).append(u.caption)

    def on_bare_caption(self, u: _Unit) -> None:
        cur = self.current
        if cur is not None and cur.open_sentence:  # `…施` / `工。` is a column break, not a photo
            self.on_body(_Unit("body", u.text, u.line, u.gap_before, u.gap_after))
        else:
            self.on_caption(u)

    def on_byline(self, u: _Unit) -> None:
        cur = self.current
        if cur is None:
            self.pending_byline = u.text
        elif cur.byline is None:
            cur.byline = u.text
        elif not cur.paragraphs:
            cur.byline = f"{cur.byline} {u.text}"
        else:
            cur.notes.append(u.text)  # a stray byline mid-body: keep it, not as body

    def on_body(self, u: _Unit) -> None:
        cur = self.current or self.new_draft(u.line)
        if u.dateline:
            cur.dateline = cur.dateline or u.dateline
            if cur.byline is None:
                cur.byline = u.byline
            elif u.byline and u.byline not in cur.byline:
                cur.byline = f"{cur.byline} {u.byline}"
            if not u.text:
                return
        cur.add_body(u.text, new_block=u.gap_before >= BLOCK_GAP)

    def on_headings(self, stack: list[_Unit], nxt: _Unit | None) -> None:
        cur = self.current
        lines = [h.text for h in stack]
        fragment_adjacent = (
            cur is not None
            and cur.open_sentence
            and self.prev is not None
            and self.prev.kind == "body"
            and stack[0].gap_before < BLOCK_GAP
        )
        opens = starts_article(
            has_article=cur is not None,
            stack_size=len(stack),
            followed_by_byline=nxt is not None and (nxt.kind == "byline" or nxt.dateline is not None),
            gap_before=stack[0].gap_before,
            after_open_sentence=cur is not None and cur.open_sentence,
        )
        if cur is not None and cur.title and not cur.paragraphs:
            cur.add_deck(lines)  # second deck of the article whose title we just read
            return
        if not opens:
            assert cur is not None
            cur.paragraphs.extend(lines)  # section sub-head: body, for retrieval
            cur.open_sentence = False
            return
        glued = cur is not None and bool(cur.piece_start) and cur.piece_new_block
        if cur is not None and not cur.title and fragment_adjacent and not glued:
            cur.set_heads(lines)  # the lead paragraphs above the headline are this article's
            return
        moved: str | None = None
        if cur is not None and fragment_adjacent:
            moved = cur.take_fragment()  # `…一系列生态立县、智` belongs with its continuation
        d = self.new_draft(stack[0].line)
        d.set_heads(lines)
        if moved:
            d.add_body(moved)

    def finish(self) -> ParsedPage:
        articles: list[PageArticle] = []
        leftover_captions: list[Caption] = list(self.pending_captions)
        for d in self.drafts:
            if d.paragraphs:
                articles.append(d.freeze())
                continue
            # a heading with no text under it: keep its words as page notes, its photos nearby
            self.page_notes.extend(x for x in (d.kicker, d.title, d.subtitle, *d.heads, d.byline) if x)
            self.page_notes.extend(d.notes)
            if articles:
                prev = articles[-1]
                articles[-1] = _with_captions(prev, prev.captions + tuple(d.captions))
            else:
                leftover_captions.extend(d.captions)
        if articles and leftover_captions:
            articles[0] = _with_captions(articles[0], tuple(leftover_captions) + articles[0].captions)
            leftover_captions = []
        return ParsedPage(tuple(articles), dict(self.editors), tuple(self.page_notes), tuple(leftover_captions))


def _with_captions(a: PageArticle, captions: tuple[Caption, ...]) -> PageArticle:
    return replace(a, captions=captions)


def parse_page(text: str) -> ParsedPage:
    """Articles, editors and notes of one page of layout-extracted text.

    Articles without a printed headline get title "" (`read_page` supplies a fallback)."""
    walker = _Walker()
    walker.run(classify_lines(text))
    page = walker.finish()
    logger.debug("parsed page: %d articles, editors %s", len(page.articles), page.editors)
    return page


# --------------------------------------------------------------------------- path metadata

_DATE_IN_NAME_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_.年]?(\d{2})[-_.月]?(\d{2})日?(?!\d)")
_DATE_SEP_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_./年](\d{1,2})[-_./月](\d{1,2})日?(?!\d)")
_PAGE_LABEL_RE = re.compile(r"第\s*([A-Za-z]?\d{1,3}|[A-Za-z]\d{0,2})\s*版")
_PAGE_TAIL_RE = re.compile(r"(?:^|[-_.\s])(?:p|page|版)?([A-Za-z]?\d{1,3})$", re.IGNORECASE)
SIDECAR = "page.json"


def _iso(y: str, m: str, d: str) -> str | None:
    try:
        return calendar_date(y, m, d).isoformat()
    except ValueError:
        return None


def normalize_page_label(label: str) -> str:
    """`3` -> `03`, `a2` -> `A2`: page numbers as the paper prints them, zero-padded."""
    s = label.strip().upper()
    m = re.fullmatch(r"([A-Z]?)(\d+)", s)
    if not m:
        return s
    return f"{m.group(1)}{int(m.group(2)):02d}" if not m.group(1) else f"{m.group(1)}{int(m.group(2))}"


def date_from_path(parts: list[str]) -> tuple[str | None, int | None]:
    """ISO date from path components and the index of the component that ends it:
    `2022-03-15/…`, `20220315-03.txt`, or year/month/day directories `2022/03/15/…`."""
    for i, part in enumerate(parts):
        m = _DATE_SEP_RE.search(part) or _DATE_IN_NAME_RE.search(part)
        if m and (iso := _iso(*m.groups())):
            return iso, i
    for i in range(len(parts) - 2):
        y, mo, d = parts[i : i + 3]
        if re.fullmatch(r"(?:19|20)\d{2}", y) and re.fullmatch(r"\d{1,2}", mo) and re.fullmatch(r"\d{1,2}", d):
            if iso := _iso(y, mo, d):
                return iso, i + 2
    return None, None


def page_from_stem(stem: str) -> str | None:
    """Page label from a file name: `第03版`, `03`, `20220315-03`, `page3`, `A2`."""
    m = _PAGE_LABEL_RE.search(stem)
    if m:
        return normalize_page_label(m.group(1))
    rest = _DATE_IN_NAME_RE.sub("", _DATE_SEP_RE.sub("", stem)).strip("-_. ")
    if not rest:
        return None
    m = _PAGE_TAIL_RE.search(rest)
    return normalize_page_label(m.group(1)) if m else None


def source_from_path(parts: list[str], date_index: int | None) -> str | None:
    """Newspaper name: the directory just above the date directories, when it is a
    Chinese name (`焦作日报/2022/03/15/…`); generic folders like `data` are not names."""
    if date_index is None:
        return None
    first = date_index
    if date_index >= 2 and re.fullmatch(r"\d{1,2}", parts[date_index]) and re.fullmatch(r"\d{1,2}", parts[date_index - 1]):
        first = date_index - 2  # year/month/day directories
    if first >= 1 and re.search(rf"[{_CJK}]", parts[first - 1]) and not _PAGE_LABEL_RE.search(parts[first - 1]):
        return parts[first - 1]
    return None


def read_sidecar(directory: Path) -> dict[str, str]:
    """`page.json` beside the page file: {"date", "page", "source"} overrides."""
    p = directory / SIDECAR
    if not p.is_file():
        return {}
    try:
        data = json.loads(read_text(p))
    except json.JSONDecodeError as e:
        raise BadInputError(str(p), f"invalid JSON: {e.msg}", line=e.lineno) from None
    if not isinstance(data, dict):
        raise BadInputError(str(p), "expected a JSON object with keys date, page, source")
    return {k: str(data[k]) for k in ("date", "page", "source") if data.get(k) not in (None, "")}


def page_meta_from_path(path: str | Path) -> PageMeta:
    """Date, page and source from the path layout, overridden by a `page.json` sidecar."""
    p = Path(path)
    parts = list(p.parent.parts) + [p.stem]
    date, idx = date_from_path(parts)
    page = page_from_stem(p.stem)
    source = source_from_path(parts, idx)
    side = read_sidecar(p.parent)
    if "date" in side:
        date = _normalize_date(side["date"], p.parent / SIDECAR)
    if "page" in side:
        page = normalize_page_label(side["page"])
    source = side.get("source", source)
    return PageMeta(date=date, page=page, source=source)


def _normalize_date(value: str, where: str | Path) -> str:
    m = _DATE_SEP_RE.search(value) or _DATE_IN_NAME_RE.search(value)
    try:
        return calendar_date(*m.groups()).isoformat() if m else str(iso_date(value))
    except ValueError as e:
        raise BadInputError(str(where), str(e)) from None


# --------------------------------------------------------------------------- records


def slug(text: str) -> str:
    """Stable id fragment: letters, digits and CJK kept, everything else becomes `-`."""
    s = re.sub(rf"[^0-9A-Za-z{_CJK}]+", "-", text).strip("-").lower()
    return s or "page"


def fallback_title(stem: str, body: str) -> str:
    """Title for a page without a headline: the file name when it reads like a title
    (has Chinese and is not a date/page label), else the first sentence, shortened."""
    bare = _PAGE_LABEL_RE.sub("", _DATE_IN_NAME_RE.sub("", _DATE_SEP_RE.sub("", stem)))
    if len(re.findall(rf"[{_CJK}]", bare)) >= 2:
        return stem.strip()
    first = re.split(r"(?<=[。！？!?；;])", body.strip(), maxsplit=1)[0].strip()
    return first if len(first) <= 30 else first[:30] + "…"


def _load_text(p: Path) -> str:
    suffix = p.suffix.lower()
    if suffix in (".html", ".htm", ".xhtml"):
        from .page_formats import html_to_text

        return html_to_text(read_text(p))
    if suffix == ".pdf":
        from .page_formats import pdf_to_text

        return pdf_to_text(p)
    return read_text(p)


def article_id(meta: PageMeta, stem: str, ordinal: int) -> str:
    """`2022-03-15-03-01`: date-page-ordinal, stable across re-ingests of the same page.
    The file stem stands in for a missing date or page; a known source prefixes the id so
    two papers' page 3 of one day do not collide."""
    if meta.date and meta.page:
        base = f"{meta.date}-{meta.page}"
    elif meta.date:
        base = f"{meta.date}-{slug(stem)}"
    else:
        base = f"nodate-{slug(stem)}" + (f"-{meta.page}" if meta.page and meta.page != slug(stem) else "")
    if meta.source:
        base = f"{slug(meta.source)}-{base}"
    return f"{base}-{ordinal:02d}"


def read_page(
    path: str | Path,
    *,
    date: str | None = None,
    page: str | None = None,
    source: str | None = None,
    text: str | None = None,
) -> list[ArticleRecord]:
    """One page file -> one ArticleRecord per article plus one per photo caption.

    Metadata comes from the path, then `page.json`, then the explicit arguments. Raises
    `BadInputError` naming the file for empty, binary or unreadable pages and for pages
    that hold only photo captions."""
    p = Path(path)
    base = page_meta_from_path(p)
    meta = PageMeta(
        date=_normalize_date(date, p) if date else base.date,
        page=normalize_page_label(page) if page else base.page,
        source=source or base.source,
    )
    raw = _load_text(p) if text is None else text
    if not raw.strip():
        raise BadInputError(str(p), "empty page: no text")
    parsed = parse_page(raw)
    if not parsed.articles:
        if parsed.captions:
            raise BadInputError(str(p), "only photo captions, no article text")
        raise BadInputError(str(p), "no article text on the page (only headings, editor line or notes)")
    line_numbers = text is None and p.suffix.lower() not in (".html", ".htm", ".xhtml", ".pdf")
    records: list[ArticleRecord] = []
    for n, art in enumerate(parsed.articles, start=1):
        records.extend(_records_for(art, n, parsed, meta, p, line_numbers))
    return records


def _records_for(
    art: PageArticle, ordinal: int, parsed: ParsedPage, meta: PageMeta, p: Path, line_numbers: bool
) -> list[ArticleRecord]:
    aid = article_id(meta, p.stem, ordinal)
    title = art.title
    if not title:
        title = fallback_title(p.stem, art.body)
        logger.warning("%s: article %d has no headline; titled %r", p, ordinal, title)
    md: dict[str, Any] = {
        "kind": "article",
        "ordinal": ordinal,
        "kicker": art.kicker,
        "subtitle": art.subtitle,
        "heads": list(art.heads),
        "dateline": art.dateline,
        "editors": dict(parsed.editors),
        "notes": list(art.notes),
        "page_notes": list(parsed.notes),
        "captions": [{"text": c.text, "credit": c.credit} for c in art.captions],
        "untitled": not art.title or None,
    }
    md = {k: v for k, v in md.items() if v not in (None, "", [], {})}
    common = dict(date=meta.date, page=meta.page, source=meta.source, source_file=str(p))
    line = art.line if line_numbers else None
    out = [ArticleRecord(id=aid, title=title, text=art.body, byline=art.byline, source_line=line, metadata=md, **common)]
    for k, cap in enumerate(art.captions, start=1):
        cap_title = cap.text.strip() or (f"图片 {cap.credit}" if cap.credit else "图片")
        cap_text = (cap.text.strip() + (" " + cap.credit if cap.credit else "")).strip()
        out.append(
            ArticleRecord(
                id=f"{aid}-photo-{k}",
                title=cap_title,
                text=cap_text,
                byline=cap.credit,
                metadata={"kind": "caption", "article_id": aid, "article_title": title},
                **common,
            )
        )
    return out
