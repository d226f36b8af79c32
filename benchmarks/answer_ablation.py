"""What each highlighting idea buys: highlight-hit (and the answer stage's other figures)
per configuration of `HighlightParams`, on a question set, from one retrieval.

Retrieval is not what is measured here, so it runs once: hybrid `search(k=10)` per question
(exactly the hits `ask(k=5)` sees) is pickled with the query vector and the IDF inputs, and
the sentences of the best article's passages are embedded once (under their headline, as `ask` does).
Every configuration then runs the real `build_answer` on those hits; sentences a configuration
cuts differently (dependent sentences joined) are embedded from the archive on first use and
added to the cache.

    python benchmarks/answer_ablation.py ARCHIVE_DIR QUESTIONS.jsonl --cache DIR [--limit N] [--only 6,7]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.answer import build_answer, merge_overlapping  # noqa: E402
from qa.archive import Archive, passage_text  # noqa: E402
from qa.eval import AnswerMatcher, char_f1, exact_match, load_questions  # noqa: E402
from qa.highlight import HighlightParams, sentence_spans  # noqa: E402
from qa.textnorm import query_terms  # noqa: E402

FINAL = HighlightParams()
SECOND = replace(FINAL, lead_bonus=0.0, across_passages=False)  # the final configuration of 2026-11-30 afternoon
MORNING = replace(SECOND, join_dependent=0)  # the final configuration of 2026-11-30 (before dependent sentences joined)
PREVIOUS = replace(MORNING, phrase_weight=0.0, type_bonus=0.0)  # the final configuration of 2026-11-30 morning
CONFIGS = [
    ("before (lexical, clause sentences)", replace(PREVIOUS, join_clauses=False, local_weighting=False,
                                                  dense_weight=0.0)),
    ("+ whole sentences (join ；)", replace(PREVIOUS, local_weighting=False, dense_weight=0.0)),
    ("+ local term weights", replace(PREVIOUS, title_factor=1.0, dense_weight=0.0)),
    ("+ headline terms x0.3", replace(PREVIOUS, dense_weight=0.0)),
    ("+ sentence embeddings, 4 best", PREVIOUS),
    ("+ question phrase 0.2", replace(MORNING, type_bonus=0.0)),
    ("+ asked type next to a question term 0.2", MORNING),
    ("+ a sentence opening with a connective or back-reference joins the one before, <= 150 chars", SECOND),
    ("+ the article's first sentence +0.2 for who/what/alias/where questions", replace(SECOND, lead_bonus=0.2)),
    ("+ the best article's shown passages compete for the highlight (final)", FINAL),
    ("final, the best article's passages only (no first-sentence bonus)", replace(FINAL, lead_bonus=0.0)),
    ("final, first-sentence bonus 0.1", replace(FINAL, lead_bonus=0.1)),
    ("final, first-sentence bonus 0.3", replace(FINAL, lead_bonus=0.3)),
    ("final, connectives only (no 它/这/该/此/其)", replace(FINAL, dependent_openers="connective")),
    ("final, 他/她 joined too", replace(FINAL, dependent_openers="+person")),
    ("final, joined up to 400 chars", replace(FINAL, join_dependent=400)),
    ("final, lexical only", replace(FINAL, dense_weight=0.0)),
    ("final, asked type anywhere in the sentence", replace(FINAL, type_near=None)),
    ("final + next sentence 0.3", replace(FINAL, next_sentence=0.3)),
    ("embeddings alone", HighlightParams(local_weighting=False, bigram_weight=0.0, phrase_weight=0.0,
                                         type_bonus=0.0, dense_weight=100.0, join_dependent=0)),
]


def cache_path(questions: str, limit: int | None, cache: Path) -> Path:
    return cache / f"{Path(questions).stem}-{limit or 'all'}.hits.pkl"


def retrieve(archive_dir: str, questions: str, limit: int | None, cache: Path) -> dict:
    path = cache_path(questions, limit, cache)
    if path.exists():
        return pickle.loads(path.read_bytes())
    with Archive.open(archive_dir, create=False) as a:
        rows = []
        for q in load_questions(questions, limit):
            hits = a.search(q.question, 10, "hybrid", **q.filters)
            rows.append({"q": q, "hits": hits, "df": a.store.document_frequencies(query_terms(q.question)),
                         "qv": a._encode_query(q.question).ravel()})
        texts = sorted({passage_text(h.citation.title, h.text[s:e]) for r in rows
                        for h in best_article_passages(r["hits"])
                        for join in (True, False) for s, e in sentence_spans(h.text, join)})
        vecs = a.encoder.encode_passages(texts, batch_size=64)
        data = {"rows": rows, "n_docs": a.store.counts()["chunks"], "vecs": dict(zip(texts, vecs))}
    path.write_bytes(pickle.dumps(data))
    return data


def best_article_passages(hits: list) -> list:
    """The passages `ask(k=5)` may highlight: those of the first passage's article."""
    merged = merge_overlapping(hits)[:5]
    return [h for h in merged if h.article_id == merged[0].article_id]


def ensure_vecs(data: dict, params: HighlightParams, archive_dir: str | None, cache_file: Path | None = None) -> None:
    """Embed the sentences `params` cuts that the cache lacks (e.g. joined sentences)."""
    vecs = data["vecs"]
    want = sorted({passage_text(h.citation.title, h.text[s:e]) for r in data["rows"]
                   for h in best_article_passages(r["hits"])
                   for s, e in sentence_spans(h.text, params.join_clauses, params.join_dependent,
                                              params.dependent_openers)} - vecs.keys())
    if not want:
        return
    if archive_dir is None:
        raise SystemExit(f"{len(want)} sentences are not embedded in the cache: pass the archive")
    with Archive.open(archive_dir, create=False) as a:
        vecs.update(zip(want, a.encoder.encode_passages(want, batch_size=64)))
    if cache_file is not None:
        cache_file.write_bytes(pickle.dumps(data))


def measure(data: dict, params: HighlightParams) -> dict[str, float]:
    m = AnswerMatcher()
    vecs = data["vecs"]
    out = {"highlight_hit": 0.0, "src@1": 0.0, "short_given": 0.0, "short_em": 0.0, "short_f1": 0.0,
           "shown_precision": 0.0, "shown_recall": 0.0, "highlight_chars": 0.0}
    answered = 0
    for r in data["rows"]:
        q, qv = r["q"], r["qv"]

        def scorer(question: str, title: str, sentences: list[str]) -> list[float]:
            return [float(vecs[passage_text(title, s)] @ qv) for s in sentences]

        ans = build_answer(q.question, r["hits"], r["df"], data["n_docs"], k=5, scorer=scorer, highlight=params)
        if not ans.found:
            continue
        answered += 1
        gold = [p.citation.article_id in q.gold for p in ans.passages]
        out["highlight_hit"] += m.contains(ans.best.highlight, q.answers)
        out["highlight_chars"] += len(ans.best.highlight)
        out["src@1"] += gold[0]
        out["short_given"] += ans.short_answer is not None
        out["short_em"] += exact_match(ans.short_answer, q.answers)
        out["short_f1"] += char_f1(ans.short_answer, q.answers)
        out["shown_precision"] += sum(gold) / len(gold)
        out["shown_recall"] += any(gold)
    n = len(data["rows"])
    res = {k: 100 * v / n for k, v in out.items()}
    res["shown_precision"] = 100 * out["shown_precision"] / max(answered, 1)
    res["highlight_chars"] = out["highlight_chars"] / max(answered, 1)
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("archive")
    p.add_argument("questions")
    p.add_argument("--cache", type=Path, required=True)
    p.add_argument("--limit", type=int)
    p.add_argument("--only", help="comma-separated row numbers of CONFIGS to run (default: all)")
    args = p.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    data = retrieve(args.archive, args.questions, args.limit, args.cache)
    print(f"{Path(args.questions).name}: {len(data['rows'])} questions ({time.perf_counter() - t:.0f}s to retrieve/embed)")
    print("| configuration | highlight-hit | highlight chars | source@1 | short answer given | EM | F1 |\n"
          "|---|---:|---:|---:|---:|---:|---:|")
    rows = [CONFIGS[int(i)] for i in args.only.split(",")] if args.only else CONFIGS
    for name, params in rows:
        ensure_vecs(data, params, args.archive, cache_path(args.questions, args.limit, args.cache))
        r = measure(data, params)
        print(f"| {name} | {r['highlight_hit']:.1f} | {r['highlight_chars']:.1f} | {r['src@1']:.1f} | {r['short_given']:.1f} | {r['short_em']:.1f} "
              f"| {r['short_f1']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
