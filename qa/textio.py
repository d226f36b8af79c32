"""Read text files in the encodings Chinese archives arrive in, never producing mojibake.

UTF-8 (with or without BOM), UTF-16 with BOM, and GB18030 (a superset of GBK and GB2312)
are tried strictly in that order; charset-normalizer is the fallback for anything else
(Big5 and friends). Binary files are refused with a clear reason.
"""

from __future__ import annotations

from pathlib import Path

from .errors import BadInputError

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
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


def decode_bytes(data: bytes, path: str | Path = "<bytes>") -> str:
    """Decode `data`, raising `BadInputError` naming `path` when it is not readable text."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc)
            except UnicodeDecodeError as e:
                raise BadInputError(str(path), f"starts with a {enc} byte-order mark but is not valid {enc}: {e.reason} at byte {e.start}") from None
    if looks_binary(data):
        raise BadInputError(str(path), "binary file, not text (expected UTF-8 or GB18030 text, JSON Lines, HTML or PDF)")
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None and best.encoding:
        return str(best)
    raise BadInputError(str(path), "cannot tell the text encoding (tried UTF-8, GB18030 and detection); convert it to UTF-8")


def read_text(path: str | Path) -> str:
    """Read a text file in any supported encoding; newlines normalised to `\\n`."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise BadInputError(str(p), f"cannot read: {e.strerror or e}") from None
    text = decode_bytes(data, p)
    return text.replace("\r\n", "\n").replace("\r", "\n")
