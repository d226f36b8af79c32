"""`qa eval`: run a question set against an archive and write a report people can read.

Registered by `qa/cli.py` through `add_eval_parser(sub)` and `COMMANDS["eval"] = cmd_eval`.
Only argparse is imported at module level, so `qa --help` stays instant.

    qa eval QUESTIONS.jsonl [--corpus CORPUS.jsonl | --archive DIR] [--modes hybrid,dense,keyword]
            [--k 1,3,5,10] [--limit N] [--gold-field NAME] [--out DIR]
    qa eval --compare OLD/report.json NEW/report.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

MODE_CHOICES = ("hybrid", "dense", "keyword")

EPILOG = """\
question file: JSON Lines, one question per line, e.g.
  {"id": "q1", "question": "周庄镇2021年累计完成税收多少？", "answers": ["1334万元"], "doc_ids": ["..."]}
  fields: question (required), answers (any-of strings), doc_id/doc_ids (gold article ids, or values
  of --gold-field), gold_title_contains (headline substrings), filters {date_from, date_to, source, page}.
  The shared CMRC 2018 / DRCD sets work as they are. See data/questions/README.md.

outputs in --out: report.json (metrics, 95% CIs, paired comparison, run facts), questions.jsonl
(per question and mode: ranks, highlight, top passages), questions.csv, report.html (charts).

examples:
  qa eval ../shared/eval/cmrc2018_trial.questions.jsonl --corpus ../shared/eval/cmrc2018_trial.corpus.jsonl
  qa eval data/questions/sample_questions.jsonl --archive archive --k 1,3,5
  qa eval --compare eval-out/before/report.json eval-out/after/report.json
"""


def _csv_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_modes(value: str) -> list[str]:
    modes = _csv_list(value)
    bad = [m for m in modes if m not in MODE_CHOICES]
    if bad or not modes:
        raise argparse.ArgumentTypeError(f"unknown mode {', '.join(bad) or value!r}; choose from {','.join(MODE_CHOICES)}")
    return list(dict.fromkeys(modes))


def parse_ks(value: str) -> list[int]:
    try:
        ks = sorted({int(v) for v in _csv_list(value)})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k wants comma-separated positive integers, e.g. 1,3,5,10; got {value!r}") from None
    if not ks or ks[0] < 1:
        raise argparse.ArgumentTypeError(f"--k wants positive integers, got {value!r}")
    return ks


def add_eval_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `eval` subcommand to `qa`'s subparsers; returns its parser."""
    p = subparsers.add_parser(
        "eval", help="measure retrieval and answers over a question set (report, charts, comparison)",
        description="Run a question set through each search mode and report source-recall@k, answer-recall@k,\n"
                    "highlight-hit, MRR@10, nDCG@10, abstention and latency, with bootstrap 95% CIs.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("questions", nargs="?", metavar="QUESTIONS.jsonl", help="question set (JSON Lines)")
    p.add_argument("--corpus", metavar="CORPUS.jsonl",
                   help="build (or reuse, by content hash) an archive of this corpus and evaluate on it; "
                        "cached under $QA_CACHE_DIR/eval-archives unless --archive is given")
    p.add_argument("--archive", metavar="DIR", help="archive to evaluate (default: $QA_ARCHIVE or ./archive); "
                   "with --corpus, the corpus is ingested into it")
    p.add_argument("--model", default=None, help="embedding model (default: the archive's own)")
    from .cli_backend import add_backend_args

    add_backend_args(p)
    p.add_argument("--modes", type=parse_modes, default=list(MODE_CHOICES), metavar="M,M",
                   help="search modes to compare (default: hybrid,dense,keyword)")
    p.add_argument("--k", dest="ks", type=parse_ks, default=[1, 3, 5, 10], metavar="K,K",
                   help="cut-offs for recall@k (default: 1,3,5,10)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions (CI slices)")
    p.add_argument("--gold-field", default=None, metavar="NAME",
                   help="match doc_id(s) against this article metadata field (or title/date/page/source) "
                        "instead of the article id")
    p.add_argument("--out", metavar="DIR", help="output directory (default: eval-out/<question file stem>)")
    p.add_argument("--compare", nargs=2, metavar=("OLD.json", "NEW.json"),
                   help="show the difference between two report.json files (new − old) and exit")
    return p


def _progress(desc: str, unit: str):
    from tqdm import tqdm

    tty = sys.stderr.isatty()  # in CI logs: a line every 30 s instead of a live bar
    bar = tqdm(total=0, desc=desc, unit=unit, file=sys.stderr, mininterval=0.1 if tty else 30, ascii=not tty)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)  # redraws at most every `mininterval`

    return bar, update


def _open_archive(args: argparse.Namespace):
    from .cli_backend import backend_kind, backend_location, open_args, quiet_milvus_logs
    from .eval import open_corpus_archive

    kind = backend_kind(args)
    if kind != "local":
        quiet_milvus_logs(getattr(args, "verbose", False))
    named = bool(args.archive or getattr(args, "uri", None))
    if args.corpus:
        if not Path(args.corpus).is_file():
            raise FileNotFoundError(f"no corpus file {args.corpus}")
        bar, update = _progress("corpus ingest", "article")
        try:
            if named:
                archive = open_args(args, model=args.model)
                try:
                    archive.ingest([args.corpus], progress=update)
                except BaseException:
                    archive.close()
                    raise
            else:
                archive = open_corpus_archive(args.corpus, args.model, progress=update, backend=kind)
        finally:
            bar.close()
        return archive
    path = backend_location(args)
    archive = open_args(args, model=args.model, create=False)
    if archive.info().articles == 0:
        archive.close()
        raise ValueError(f"archive {path} is empty: ingest the corpus first, or pass --corpus CORPUS.jsonl")
    return archive


def gold_coverage(archive: Any, questions: list[Any]) -> tuple[int, int]:
    """(gold ids present in the archive, gold ids asked for): a wrong archive shows as ~0."""
    wanted = sorted({g for q in questions for g in q.gold})
    present = archive.backend.hashes(wanted) if wanted else {}
    return len(present), len(wanted)


def cmd_eval(args: argparse.Namespace) -> int:
    """Run `qa eval` (see `add_eval_parser`); returns the exit status."""
    from .eval_report import load_report, print_compare, print_report, run_metadata, write_outputs

    if args.compare:
        print_compare(load_report(args.compare[0]), load_report(args.compare[1]))
        return 0
    if not args.questions:
        raise ValueError("give a question set (QUESTIONS.jsonl), or --compare OLD.json NEW.json")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be at least 1, got {args.limit}")
    from .eval import evaluate, read_question_set

    qpath = Path(args.questions)
    if not qpath.is_file():
        raise FileNotFoundError(f"no question file {qpath}")
    qset = read_question_set(qpath, args.limit)
    questions = list(qset.questions)
    if not questions:
        raise ValueError(f"{qpath} holds no questions")
    started = dt.datetime.now()
    archive = _open_archive(args)
    try:
        if not args.gold_field:
            have, want = gold_coverage(archive, questions)
            if want and have < want:
                print(f"warning: only {have} of {want} gold ids are in {archive.path}; wrong archive, "
                      f"or should they match a metadata field (--gold-field)?", file=sys.stderr)
        bar, update = _progress("eval", "question")
        try:
            run = evaluate(archive, questions, args.modes, args.ks, args.gold_field, progress=update)
        finally:
            bar.close()
        params = {"modes": args.modes, "ks": args.ks, "limit": args.limit, "gold_field": args.gold_field,
                  "skipped_blank_questions": list(qset.skipped),
                  "k_search": max(max(args.ks), 10), "k_ask": max(args.ks)}
        meta = run_metadata(archive, qpath, params, args.corpus, started)
    finally:
        archive.close()
    out = Path(args.out or Path("eval-out") / qpath.name.removesuffix(".jsonl").removesuffix(".questions"))
    paths = write_outputs(run, meta, out)
    print_report(load_report(paths["report"]))
    print(f"wrote {paths['report']}, {paths['questions'].name}, {paths['csv'].name}, {paths['html'].name} "
          f"({run.seconds:.0f}s for {len(questions)} questions x {len(args.modes)} modes)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m qa.eval_cli ...`: the same command outside `qa` (one-line errors, status 2)."""
    import logging

    from .errors import QAError

    parser = argparse.ArgumentParser(prog="qa")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_eval_parser(sub)
    args = parser.parse_args(["eval", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return cmd_eval(args)
    except (QAError, FileNotFoundError, NotADirectoryError, ValueError) as e:
        print(f"qa eval: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
