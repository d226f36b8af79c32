"""Read text files in the encodings Chinese archives arrive in, never producing mojibake.

Tried in this order: a byte-order mark (UTF-8, UTF-16); UTF-16 without one (recognised by
its NUL bytes all falling on one side of each code unit: every newline and ASCII letter has
one); strict UTF-8; then the legacy Chinese encodings, GB18030 (a superset of GBK and
GB2312) and Big5 (cp950 / HKSCS), and UTF-16 text without any ASCII. These decoders accept
most byte pairs, so Big5 text "decodes" as GB18030 into nonsense: all are decoded and the
one that reads like Chinese (more common characters and punctuation) wins, GB18030 on a tie. charset-normalizer is the
fallback for anything else. Binary files are refused with a clear reason.
"""

from __future__ import annotations

from pathlib import Path

from .errors import BadInputError

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_LEGACY_CJK = ("gb18030", "cp950", "big5hkscs")  # in this order: GB18030 wins ties
_UTF16 = ("utf-16-le", "utf-16-be")
# The commonest characters of written Chinese in both scripts, and its punctuation: what
# a right decoding is full of and a wrong one (Big5 read as GBK or back) nearly lacks.
_COMMON_CJK = frozenset(
    "的一是不了在人有我他这這个個们們中来來上大为為和国國地到以说說时時要就出会會也你对對生能而子那得于於"
    "着著下自之年过過发發后後作里裏用道行所然家种種事成方多经經么麼去法学學如都同现現当當没沒动動面起看定"
    "天分还還进進好小部其些主样樣理心她本前开開但因只从從想实實日军軍者意无無力它与與长長把机機十民第公此"
    "已工使情明性知全三又关關点點正业業外将將两兩高间間由问問很最重并並物手应應战戰向头頭文体體政美相见見"
    "被利什二等产產或新己制製身果加西斯月话話合回特代内內信表化老给給世位次度门門任常先海通教儿兒原东東"
    "，。、；：？！「」『』（）《》“”"
)


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters in the first 8 KiB mean 'not text'."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    if not head:
        return False
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls / len(head) > 0.05


def _is_plain_text(text: str) -> bool:
    """Hardly any control characters besides whitespace (real text has the odd stray one),
    and no unpaired surrogates."""
    head = text[:4096]
    if any("\ud800" <= ch <= "\udfff" for ch in head):
        return False
    controls = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\n\r\f\x1b")
    return controls <= len(head) / 100


def _texty(text: str) -> float:
    """Share of characters in the ranges text is made of (ASCII, CJK and its punctuation,
    full-width forms): near 1 for real text, under 0.5 for binary read as UTF-16."""
    head = text[:4096]
    ok = sum(1 for ch in head if " " <= ch <= "~" or ch in "\t\n\r\f" or "\u3000" <= ch <= "\u9fff"
             or "\uff00" <= ch <= "\uffef" or "\u2000" <= ch <= "\u206f")
    return ok / len(head) if head else 0.0


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text that lacks a byte-order mark, or None. It has NUL bytes (the high half of
    every ASCII character and newline, and the low half of 一 U+4E00), which no other text
    encoding has: both byte orders are tried, and the one that reads like text wins."""
    if len(data) % 2 or b"\x00" not in data[:8192]:
        return None
    found: list[tuple[int, int, str]] = []
    for enc in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _is_plain_text(text) and _texty(text) >= 0.9:
            found.append((_reads_like_chinese(text), sum(ch < "\x80" for ch in text[:4096]), text))
    return max(found, key=lambda f: f[:2])[2] if found else None


def _reads_like_chinese(text: str) -> int:
    return sum(ch in _COMMON_CJK for ch in text[:20000])


def _best_decoding(data: bytes, encodings: tuple[str, ...]) -> str | None:
    """The decoding of `data` that reads most like Chinese (the first on a tie), or None if
    none decodes. UTF-16 must also look like text: its decoders accept nearly any bytes."""
    best: tuple[int, str] | None = None
    for enc in encodings:
        if enc.startswith("utf-16") and len(data) % 2:
            continue
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc.startswith("utf-16") and not (_is_plain_text(text) and _texty(text) >= 0.9):
            continue
        score = _reads_like_chinese(text)
        if best is None or score > best[0]:
            best = (score, text)
    return best[1] if best else None


def decode_bytes(data: bytes, path: str | Path = "<bytes>") -> str:
    """Decode `data`, raising `BadInputError` naming `path` when it is not readable text."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc)
            except UnicodeDecodeError as e:
                raise BadInputError(str(path), f"starts with a {enc} byte-order mark but is not valid {enc}: {e.reason} at byte {e.start}") from None
    text = _utf16_without_bom(data)
    if text is not None:
        return text
    if looks_binary(data):
        # UTF-16 without ASCII has no NUL, but 。 (U+3002) gives it control bytes
        text = _best_decoding(data, _UTF16)
        if text is not None and _reads_like_chinese(text):
            return text
        raise BadInputError(str(path), "binary file, not text (expected UTF-8, UTF-16, GB18030 or Big5 text, JSON Lines, HTML or PDF)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = _best_decoding(data, _LEGACY_CJK + _UTF16)
    if text is not None:
        return text
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None and best.encoding:
        return str(best)
    raise BadInputError(str(path), "cannot tell the text encoding (tried UTF-8, UTF-16, GB18030, Big5 and detection); convert it to UTF-8")


def read_text(path: str | Path) -> str:
    """Read a text file in any supported encoding; newlines normalised to `\\n`."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise BadInputError(str(p), f"cannot read: {e.strerror or e}") from None
    text = decode_bytes(data, p)
    return text.replace("\r\n", "\n").replace("\r", "\n")
