"""What one line of a newspaper page is: the small named rules of the page parser.

Each function looks at one line (or one paragraph) and answers one question: is it the
editor line, a byline, a dateline, a photo credit, page furniture, a numbered sub-head,
could it be a headline? Context (what comes before and after) is decided in
`qa.page_articles`; nothing here looks beyond its line.
"""

from __future__ import annotations

import re

MAX_HEADING_CHARS = 40
MAX_CAPTION_CHARS = 80
MAX_BARE_CAPTION_CHARS = 15

_SENTENCE_END = set("。！？!?；;…」』”’）)】.：:")
_HEADING_BAD_END = set("。！？!?；;，,、：:…")
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_NAME = rf"[{_CJK}][{_CJK}·]{{1,7}}"
_ROLE = r"(?:本报|本刊|新华社|人民日报|中新社)?(?:特约|实习|见习|首席|驻[{0}]{{1,4}})?(?:摄影记者|记者|通讯员|实习生|摄影|特约撰稿人)".format(_CJK)
_ROLE_RE = re.compile(_ROLE)
_BULLETS = "■□●○◆◇▲△★☆▶►·•"
# a photo credit: names before `摄`, maybe `/摄`, maybe an agency note after it
_CREDIT_RE = re.compile(
    rf"^(?P<who>(?:{_ROLE}[\s:：]*)?{_NAME}(?:[\s、/]+(?:{_ROLE}[\s:：]*)?{_NAME})*)\s*/?\s*摄"
    r"(?P<agency>\s*[（(][^（()）]{1,12}[)）])?$"
)
# a photo note in parentheses: `（图片由受访者提供）`, `（资料图片）`, `(视觉中国供图)`
_PHOTO_NOTE_RE = re.compile(r"[（(](?![^（()）]*(?:本栏|本版|除署名))[^（()）]{0,8}(?:图片|照片|供图|资料图)[^（()）]{0,8}[)）]$")
_PHOTO_LEAD_RE = re.compile(r"^(?:图[①-⑳\d一二三四五六七八九十]?\s*[：:]|[上下左右中]图\s*[：:]|图为)")
_CREDIT_START_AFTER = set("。！？!?”」』）) \t\u3000")
_KNOWN_AGENCY = r"(?:本报|新华社|中新社|中新网|人民网|新华网|央视网|央广网|光明网)"
_OTHER_AGENCY = r"[{0}]{{2,6}}(?:日报|晚报|晨报|时报|商报|新闻网)".format(_CJK)
_DATELINE_RE = re.compile(
    r"^(?P<dateline>据?[^\s（(，,。：:；;！？!?“”]{1,24}?(?:讯|电))\s*[（(](?P<byline>[^（()）]{1,40})[)）]\s*"
)
# no reporter named: `新华社北京6月3日电 …`, `新华社北京电 …`, `本报讯 …`, `扬子晚报12月1日电 …`;
# without a date the `电` must be followed by a space, so `本报记者从国家电网…` is body
_PLACE = r"(?!记者)[{0}]{{0,8}}?".format(_CJK)
_BARE_DATELINE_RE = re.compile(
    rf"^(?P<dateline>据?(?:{_KNOWN_AGENCY}讯|{_KNOWN_AGENCY}{_PLACE}\d{{1,2}}月\d{{1,2}}日电"
    rf"|{_KNOWN_AGENCY}{_PLACE}电(?=\s)|{_OTHER_AGENCY}讯|{_OTHER_AGENCY}{_PLACE}\d{{1,2}}月\d{{1,2}}日电))"
    r"(?:\s+|(?=[^\s，,。]))"
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
# labels of boxes inside an article and numbered sub-heads: never an article's headline
_SECTION_LABELS = (
    "内容提要", "核心阅读", "阅读提示", "编者按", "相关链接", "延伸阅读", "背景链接", "新闻链接", "链接",
    "记者手记", "短评", "点评", "专家点评", "小贴士", "数据来源", "名词解释", "图片新闻", "新闻背景", "背景",
)
_NUMBERED_RE = re.compile(r"^(?:[一二三四五六七八九十]{1,3}[、.．]|[（(][一二三四五六七八九十\d]{1,3}[)）]|\d{1,2}[、.．](?!\d)|第[一二三四五六七八九十]{1,3}[部章节篇])")
_COLUMN_TAG_RE = re.compile(r"[（(【][^（()）【】]{2,8}[)）】]$")
# Common single-character surnames (simplified and traditional forms) and compound ones:
# a name glued to its role (`记者蹲点` is a kicker, `记者张明` a byline) must start with one.
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
_BYLINE_MARK_RE = re.compile(r"^(?:文|图|文图|文·图|文/图|撰文)\s*[/／：:]\s*")
_CJK_NAME_RE = re.compile(rf"^[{_CJK}]{{2,4}}$")


def looks_like_name(token: str) -> bool:
    """A person's name in a byline: 2-4 characters starting with a common surname
    (transliterated names with `·` are accepted as they are)."""
    if "·" in token:
        return 2 <= len(token) <= 16
    if token.startswith(_COMPOUND_SURNAMES):
        return 3 <= len(token) <= 4
    return 2 <= len(token) <= 4 and token[0] in _SURNAMES


def _person_tokens(text: str) -> list[str] | None:
    """Names in the part of a byline or credit after its roles, or None when a token is
    no name. `何  勇  申智林`: a two-character name is padded with a space to the width of
    three, so single characters next to each other are one name."""
    tokens = [t for t in re.split(r"[\s、/,，]+", text) if t]
    names: list[str] = []
    k = 0
    while k < len(tokens):
        t = tokens[k]
        if len(t) == 1 and k + 1 < len(tokens) and len(tokens[k + 1]) == 1:
            t, k = t + tokens[k + 1], k + 1
        names.append(t)
        k += 1
    ok = all("·" in n or _CJK_NAME_RE.match(n) for n in names)
    return names if names and ok else None


def _names_after_roles(text: str) -> list[str] | None:
    """`本报记者 张明 通讯员 赵强` -> [张明, 赵强]. A name glued to its role (`记者张明`)
    must look like a name (`记者蹲点` is a kicker); a spaced one may be any 2-4 characters."""
    out: list[str] = []
    pieces = _ROLE_RE.split(text)
    if pieces[0].strip():
        return None
    for piece in pieces[1:]:
        glued = bool(piece) and not piece[0].isspace() and piece[0] not in ":："
        names = _person_tokens(piece.strip(" \t\u3000:："))
        if names is None:
            return None
        if glued and not looks_like_name(names[0]):
            return None
        out.extend(names)
    return out


def ends_sentence(text: str) -> bool:
    """True when a paragraph ends with sentence-final punctuation; False means the text
    was cut by a column break and the next body paragraph continues it."""
    t = text.rstrip()
    if t.endswith(".") and t[-2:-1].isdigit():
        return False  # `得分95.` / `97分`: a decimal point cut by the column
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


def _is_credit(tail: str) -> bool:
    m = _CREDIT_RE.match(tail)
    if not m:
        return False
    who = m.group("who")
    names = _names_after_roles(who) if _ROLE_RE.match(who) else _person_tokens(who)
    if not names:
        return False
    spaced = bool(re.search(r"\s|/", tail[len(who) - 1:])) or len(names) > 1
    # `刘明摄` glued to the verb needs a surname; `刘明 摄`, `刘明/摄` set the name apart
    return spaced or bool(_ROLE_RE.match(who)) or all(looks_like_name(n) for n in names)


def split_credit(line: str) -> tuple[str, str] | None:
    """Split a trailing photo credit off a line: `走访企业。本报记者 吉亚南 摄` ->
    ("走访企业。", "本报记者 吉亚南 摄"); a credit alone gives ("", credit); None if none.

    Credits: `… 摄`, `…/摄`, `…摄（新华社发）`, and photo notes `（图片由受访者提供）`.
    A credit may only start at the line start or after punctuation/space, so body text
    ending in a verb like `拍摄` is not read as a credit."""
    s = line.strip()
    if len(s) > MAX_CAPTION_CHARS + 40:
        return None
    note = _PHOTO_NOTE_RE.search(s)
    if note and note.start() > 0:
        caption = s[: note.start()].strip()
        if caption and caption[-1] in "。！!" and len(caption) <= MAX_CAPTION_CHARS:
            return caption, note.group(0)
    if not re.search(r"摄\s*(?:[（(][^（()）]{1,12}[)）])?$", s):
        return None
    for pos in range(len(s)):
        if pos and s[pos - 1] not in _CREDIT_START_AFTER:
            continue
        tail = s[pos:].strip()
        if _is_credit(tail):
            caption = s[:pos].strip()
            if len(caption) > MAX_CAPTION_CHARS:
                return None
            return caption, re.sub(r"\s+", " ", tail)
    return None


def is_photo_caption_lead(line: str) -> bool:
    """`图①：…`, `上图：…`, `图为…`: a caption whatever follows it."""
    s = line.strip()
    return bool(_PHOTO_LEAD_RE.match(s)) and len(s) <= MAX_CAPTION_CHARS + 40


def parse_byline(line: str) -> str | None:
    """`本报记者 梁智玲`, `本报记者  何  勇  申智林`, `本报记者 李华 通讯员 赵强 报道`,
    `■记者 张三` -> the byline (spaces collapsed, bullet and `报道` dropped); None otherwise."""
    s = line.strip().lstrip(_BULLETS).strip()
    s = re.sub(r"\s*(?:报道|采写|文/图|文)$", "", s)
    if len(s) > 48 or not s or s.endswith("摄"):
        return None
    credit = _BYLINE_MARK_RE.match(s)  # `文/张三`, `文·图／李四`: the mark names the writer
    if credit:
        rest = s[credit.end():].strip()
        names = _names_after_roles(rest) if _ROLE_RE.match(rest) else _person_tokens(rest)
        return _tidy_byline(s) if names else None
    if not _ROLE_RE.match(s):
        return None
    names = _names_after_roles(s)
    if not names:
        return None
    return _tidy_byline(s)


def _tidy_byline(s: str) -> str:
    """Collapse spacing: `本报记者  何  勇  申智林` -> `本报记者 何勇 申智林`."""
    out = re.sub(r"(?<![\S])([\u3400-\u9fff])\s+([\u3400-\u9fff])(?![\S])", r"\1\2", s.strip())
    return re.sub(r"\s+", " ", out)


def split_dateline(paragraph: str) -> tuple[str, str, str] | None:
    """`本报讯 (记者段美如 通讯员段玉明) 2022年…` -> ("本报讯", "记者段美如 通讯员段玉明",
    "2022年…"); also `本报上海6月3日电 （记者张明 王丽）`, `据新华社北京电 （记者…）`,
    `中新网…电 (记者 …)`, and `新华社北京6月3日电` with no byline (byline ""). The
    parenthesis must name a reporter role, so `喜讯(…)` is not a dateline."""
    s = paragraph.strip()
    m = _DATELINE_RE.match(s)
    if m and re.search(r"记者|通讯员|实习生|摄影|撰稿", m.group("byline")):
        rest = s[m.end():].strip()
        return m.group("dateline"), _tidy_byline(m.group("byline")), rest
    m = _BARE_DATELINE_RE.match(s)
    if m and len(s) > m.end() + 4:
        return m.group("dateline"), "", s[m.end():].strip()
    return None


def is_note(line: str) -> bool:
    """A line wholly in parentheses, e.g. `(本栏图片除署名外均由周庄镇提供)`: an editorial
    note about the section, kept as metadata rather than body."""
    return bool(_NOTE_RE.match(line.strip()))


def is_page_furniture(line: str) -> bool:
    """Page labels and running dates (`第03版`, `2022年3月15日 星期二`, `A2`): page metadata."""
    s = line.strip()
    return any(r.match(s) for r in _FURNITURE_RES)


def is_section_label(line: str) -> bool:
    """`内容提要`, `核心阅读`, `一、…`, `（二）…`: a box label or numbered sub-head inside
    an article, never the headline of a new one."""
    s = line.strip().lstrip(_BULLETS).strip()
    return s in _SECTION_LABELS or bool(_NUMBERED_RE.match(s))


def is_heading_shaped(line: str) -> bool:
    """Short, no sentence punctuation at the end or inside: could be a headline, kicker,
    subtitle or section sub-head (context decides which). A bracketed column name at the
    end (`春节里的年味（人民观察）`), `：` and `——` inside, and one comma between two
    short phrases (`你守护社区，我守护你`) are headline punctuation."""
    s = line.strip().lstrip(_BULLETS).strip()
    if not (2 <= len(s) <= MAX_HEADING_CHARS):
        return False
    core = _COLUMN_TAG_RE.sub("", s).strip() or s
    if not ends_sentence(core) and core[-1] == ".":
        return False  # `…为5.`: a number cut by the column
    if core[-1] in _HEADING_BAD_END or any(c in core for c in "。；;！？!?"):
        return False
    parts = re.split(r"[，,]", core)
    # `稳字当头，进中求新`: a comma only between two short parallel phrases; a longer run
    # with a comma is the start of a sentence cut by a column break
    return len(parts) == 1 or (len(parts) == 2 and all(2 <= len(x.strip()) <= 12 for x in parts))


def could_be_headline(line: str) -> bool:
    """Looser than `is_heading_shaped`: one comma between two phrases of up to 16
    characters (`強化「北北基桃首都圈」相互連結，讓臺灣更進步`). Such a line is only a
    headline when a byline or dateline follows it; the assembly checks that."""
    s = line.strip()
    if not (6 <= len(s) <= MAX_HEADING_CHARS) or s[-1] in _HEADING_BAD_END:
        return False
    if any(c in s for c in "。；;！？!?"):
        return False
    parts = re.split(r"[，,]", _COLUMN_TAG_RE.sub("", s))
    return len(parts) == 2 and all(2 <= len(x.strip()) <= 16 for x in parts)


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
    dash (`——…`), which marks a subtitle; three or more are kicker, title, subtitle, rest
    (a dash line is a subtitle wherever it stands)."""
    clean = [re.sub(r"\s+", " ", x.strip().lstrip(_BULLETS).strip()) for x in lines]
    if len(clean) == 1:
        kicker, title = split_place_kicker(clean[0])
        return kicker, title, None, ()
    dashed = [k for k, x in enumerate(clean) if k and _DASH_RE.match(x)]
    if dashed:
        d = dashed[0]
        before = clean[:d]
        sub = _DASH_RE.sub("", clean[d])
        rest = tuple(clean[d + 1:])
        if len(before) == 1:
            return None, before[0], sub, rest
        return before[0], before[1], sub, tuple(before[2:]) + rest
    if len(clean) == 2:
        return clean[0], clean[1], None, ()
    return clean[0], clean[1], clean[2], tuple(clean[3:])


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
