"""`qa eval`: metrics on hand-made rank lists, the bundled sample question set against the
sample archive (a quality floor), and the command on slices of the shared sets."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from qa.eval import (
    AnswerMatcher,
    Question,
    QuestionResult,
    bootstrap_ci,
    char_f1,
    exact_match,
    summarize_mode,
    evaluate,
    gold_targets,
    hit_at,
    load_questions,
    ndcg_at_k,
    paired_comparison,
    percentile,
    read_question_set,
    reciprocal_rank,
    sign_test,
    summarize,
)
from qa.eval_cli import main as eval_main
from qa.eval_report import compare_rows
from qa.records import Citation, Hit

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_QUESTIONS = ROOT / "data" / "questions" / "sample_questions.jsonl"
# Hybrid source-recall@3 on the sample set was 100% (39/39) when the set was written;
# the floor allows 3 misses of 39 (92.3%) for small ranking changes, but catches a regression.
SAMPLE_HYBRID_SRC_RECALL_AT_3_FLOOR = 92.0


def hit(article_id: str, title: str = "", text: str = "") -> Hit:
    return Hit(0, article_id, text, 0, len(text), 1.0, Citation(article_id, title, None, None, None, None, None))


# -- metrics on hand-made rank lists ---------------------------------------------------------
def test_short_answer_exact_match_and_char_f1():
    assert exact_match("1334万元", ["1334万元"]) == 1.0
    assert exact_match("1334 萬元。", ["1334万元"]) == 1.0  # width, script, punctuation folded
    assert exact_match("1334", ["1334万元"]) == 0.0 and exact_match(None, ["1334万元"]) == 0.0
    # "1334" vs "1334万元": precision 4/4, recall 4/6 -> F1 0.8; best over the gold answers
    assert math.isclose(char_f1("1334", ["1334万元"]), 0.8)
    assert math.isclose(char_f1("1334", ["别的", "1334万元"]), 0.8)
    assert char_f1(None, ["1334万元"]) == 0.0 and char_f1("", ["x"]) == 0.0


def _result(n_shown: int, n_gold: int, found: bool = True, short: str | None = None, em: float = 0.0,
            f1: float = 0.0) -> QuestionResult:
    return QuestionResult("q", "hybrid", 1, 1, 1, 1.0, found, 1.0, 1.0, "", (), short, em, f1, n_shown, n_gold)


def test_shown_source_precision_recall_and_short_answer_columns():
    # 3 answered questions (shown 2 with 1 gold, 1 with 1 gold, 3 with 0 gold) and one abstention
    results = [_result(2, 1, short="1334万元", em=1.0, f1=1.0), _result(1, 1, short="19", f1=0.5),
               _result(3, 0), _result(0, 0, found=False)]
    m = summarize_mode("hybrid", results, (1,)).metrics
    assert math.isclose(m["shown_precision"], round(100 * (0.5 + 1 + 0) / 3, 2))  # over the answered only
    assert m["shown_recall"] == 50.0  # 2 of 4 questions have a gold source among the shown
    assert m["shown_count"] == 1.5  # mean passages shown, abstention counts 0
    assert m["short_answered"] == 50.0 and m["short_em"] == 25.0 and m["short_f1"] == 37.5


def test_ndcg_counts_each_gold_article_once():
    assert ndcg_at_k(["id:a"], 1) == 1.0
    assert ndcg_at_k([None, "id:a"], 1) == pytest.approx(1 / math.log2(3))
    # a second chunk of the same gold article earns nothing; the ideal has both gold articles on top
    assert ndcg_at_k(["id:a", "id:a", "id:b"], 2) == pytest.approx((1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3)))
    assert ndcg_at_k([None] * 10 + ["id:a"], 1) == 0.0  # beyond k
    assert ndcg_at_k(["id:a"], 0) == 0.0


def test_reciprocal_rank_mrr_and_recall():
    ranks = [1, 2, None, 11]
    assert [reciprocal_rank(r) for r in ranks] == [1.0, 0.5, 0.0, 0.0]
    m = summarize(ranks, ks=(1, 3, 20))
    assert m["mrr@10"] == pytest.approx(100 * 1.5 / 4)
    assert (m["recall@1"], m["recall@3"], m["recall@20"]) == (25.0, 50.0, 75.0)
    assert hit_at(ranks, 2).tolist() == [1.0, 1.0, 0.0, 0.0]


def test_bootstrap_ci_matches_the_normal_approximation_for_a_proportion():
    """For 400 Bernoulli(0.7) values the bootstrap distribution of the mean is close to
    normal with sd sqrt(p(1-p)/n): the 95% interval is mean ± 1.96 sd to within Monte Carlo
    error (~0.002 with 1000 resamples). A 90% interval, a CI of the values instead of their
    mean, or a missing 1/n would each miss by more than the tolerance."""
    rng = np.random.default_rng(5)
    values = (rng.random(400) < 0.7).astype(float)
    lo, hi = bootstrap_ci(values)
    p = values.mean()
    sd = math.sqrt(p * (1 - p) / len(values))
    assert lo == pytest.approx(p - 1.96 * sd, abs=0.005)
    assert hi == pytest.approx(p + 1.96 * sd, abs=0.005)
    assert bootstrap_ci(values) == (lo, hi)  # seed 0: same resamples every run
    assert bootstrap_ci(np.ones(50)) == (1.0, 1.0)


def test_bootstrap_ci_hand_computed_two_point_case():
    """Resampling [0, 1] gives means 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: the 2.5th
    and 97.5th percentiles are exactly 0 and 1, the 45th and 55th both 0.5."""
    assert bootstrap_ci([0.0, 1.0]) == (0.0, 1.0)
    assert bootstrap_ci([0.0, 1.0], alpha=0.9) == (0.5, 0.5)  # 45th-55th percentile: the 1/2 mass
    assert bootstrap_ci([3.0, 5.0]) == (3.0, 5.0)
    shifted = bootstrap_ci(np.array([0.2, 0.9, 0.4, 0.4, 1.0]) + 10)
    base = bootstrap_ci([0.2, 0.9, 0.4, 0.4, 1.0])
    assert shifted == pytest.approx((base[0] + 10, base[1] + 10))  # equivariant under shifts


def test_bootstrap_ci_covers_the_true_mean_about_95_percent_of_the_time():
    """The defining property: over many samples from a known distribution, the interval
    holds the true mean in ~95% of them (200 samples of 100 Bernoulli(0.3))."""
    rng = np.random.default_rng(11)
    covered = 0
    for i in range(200):
        sample = (rng.random(100) < 0.3).astype(float)
        lo, hi = bootstrap_ci(sample, seed=i)
        covered += lo <= 0.3 <= hi
    assert 0.88 <= covered / 200 <= 0.99


def test_paired_comparison_counts_wins_ties_losses():
    p = paired_comparison("hybrid", "keyword", [1.0, 0.5, 0.0, 1.0, 0.2], [0.5, 0.5, 1.0, 0.0, 0.2])
    assert (p.wins, p.ties, p.losses) == (2, 2, 1)
    assert p.mrr_delta == pytest.approx(100 * (2.7 - 2.2) / 5)
    # the CI is that of the per-question differences a - b, in percent points
    assert p.ci95 == pytest.approx(tuple(100 * x for x in bootstrap_ci([0.5, 0.0, -1.0, 1.0, 0.0])))
    better = paired_comparison("a", "b", [1.0] * 20 + [0.5] * 20, [0.5] * 20 + [0.5] * 20)
    assert better.ci95[0] > 0 and better.ci95[1] <= 50.0  # a never loses: the whole CI is above 0
    worse = paired_comparison("b", "a", [0.5] * 40, [1.0] * 20 + [0.5] * 20)
    assert worse.ci95 == pytest.approx((-better.ci95[1], -better.ci95[0]))
    assert sign_test(10, 0) == pytest.approx(2 / 1024)
    assert sign_test(5, 5) == 1.0


def test_percentile_is_an_observed_value():
    lat = [5.0, 1.0, 3.0, 2.0, 4.0, 100.0]
    assert percentile(lat, 50) == 3.0
    assert percentile(lat, 95) == 100.0
    assert percentile([], 50) == 0.0


def test_gold_matching_by_id_and_by_title():
    q = Question("1", "?", ("x",), frozenset({"a"}), gold_titles=("乡村振兴",))
    hits = [hit("z", "别的新闻"), hit("a"), hit("p", "周庄镇 党建引领激活乡村振兴 一池春水"), hit("a")]
    targets = gold_targets(hits, q, lambda h: h.article_id)
    assert targets == [None, "id:a", "title", "id:a"]
    assert q.n_gold == 2


def test_answers_match_across_scripts():
    m = AnswerMatcher()
    assert m.contains("台灣與韓國雙邊貿易額達一百三十億美元", ["一百三十亿美元"])
    assert m.contains("ＡＢＣ公司", ["abc"])
    assert not m.contains("周庄镇", ["焦作"])
    assert not m.contains("anything", [])


def test_load_questions_formats_and_errors(tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text("\n".join([
        json.dumps({"id": "a", "question": "问?", "answers": ["1"], "doc_id": "d1", "title": "ignored"}),
        json.dumps({"question": "问2", "answers": "only one", "doc_ids": ["d1", "d2"], "filters": {"source": "s"}}),
        json.dumps({"question": "问3", "gold_title_contains": "标题"}),
        json.dumps({"question": " ", "answers": ["blank questions are skipped, as in the CMRC trial set"]}),
        "",
    ]), encoding="utf-8")
    qs = load_questions(f)
    assert [q.id for q in qs] == ["a", "2", "3"]
    assert read_question_set(f).skipped == (f"{f}:4",)
    assert qs[0].gold == {"d1"} and qs[1].gold == {"d1", "d2"} and qs[1].answers == ("only one",)
    assert qs[1].filters == {"source": "s"} and qs[2].gold_titles == ("标题",)
    assert len(load_questions(f, limit=2)) == 2
    f.write_text(json.dumps({"question": "x", "filters": {"year": 2020}}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"q.jsonl:1: `filters`"):
        load_questions(f)
    f.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"q.jsonl:1: invalid JSON"):
        load_questions(f)


# -- the bundled sample set --------------------------------------------------------------------
def test_sample_question_set_is_well_formed():
    qs = load_questions(SAMPLE_QUESTIONS)
    assert len(qs) >= 30
    assert len({q.id for q in qs}) == len(qs)
    assert all(q.answers and (q.gold or q.gold_titles) for q in qs)
    assert sum(1 for q in qs if q.gold_titles) >= 10  # the seed page
    assert sum(1 for q in qs if any(g.startswith("tw-president-") for g in q.gold)) >= 20


def test_sample_archive_hybrid_source_recall_floor(sample_archive_ro):
    qs = load_questions(SAMPLE_QUESTIONS)
    run = evaluate(sample_archive_ro, qs, modes=("hybrid", "dense", "keyword"), ks=(1, 3, 5))
    m = run.summaries["hybrid"].metrics
    assert m["src_recall@3"] >= SAMPLE_HYBRID_SRC_RECALL_AT_3_FLOOR, m
    assert m["ans_recall@5"] >= 80.0, m
    for mode in run.modes:
        s = run.summaries[mode]
        assert s.ci95["src_recall@3"][0] <= s.metrics["src_recall@3"] <= s.ci95["src_recall@3"][1]
        assert len(run.results[mode]) == len(qs)
    assert len(run.paired) == 3


# -- the command on slices of the shared sets ----------------------------------------------------
def corpus_slice(eval_dir: Path, name: str, n_questions: int, n_other: int, dst: Path) -> Path:
    """The gold docs of the first `n_questions` questions plus `n_other` other docs: a small
    corpus that keeps the ingest inside a test's time budget."""
    gold: set[str] = set()
    with open(eval_dir / f"{name}.questions.jsonl", encoding="utf-8") as f:
        for _, line in zip(range(n_questions), f):
            r = json.loads(line)
            gold.update(r.get("doc_ids") or [r["doc_id"]])
    kept, other = [], 0
    with open(eval_dir / f"{name}.corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            if doc["doc_id"] in gold or other < n_other:
                other += doc["doc_id"] not in gold
                kept.append(line.rstrip("\n"))
    dst.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return dst


@pytest.fixture(scope="module")
def cmrc_run(shared_eval, tmp_path_factory, encoder) -> tuple[Path, Path]:
    """`qa eval` on the first 30 CMRC questions over a ~50-doc corpus slice (corpus archive
    cached in a temporary QA_CACHE_DIR). Returns (output dir, cache dir)."""
    tmp = tmp_path_factory.mktemp("cmrc")
    corpus = corpus_slice(shared_eval, "cmrc2018_trial", 30, 40, tmp / "cmrc_slice.corpus.jsonl")
    out = tmp / "out"
    mp = pytest.MonkeyPatch()
    mp.setenv("QA_CACHE_DIR", str(tmp / "cache"))
    try:
        status = eval_main([str(shared_eval / "cmrc2018_trial.questions.jsonl"), "--corpus", str(corpus),
                            "--limit", "30", "--out", str(out)])
    finally:
        mp.undo()
    assert status == 0
    return out, tmp / "cache"


def test_cli_writes_report_questions_csv_and_html(cmrc_run):
    out, cache = cmrc_run
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    csv_rows = list(csv.DictReader((out / "questions.csv").open(encoding="utf-8", newline="")))
    assert report["n_questions"] == 30 and report["modes"] == ["hybrid", "dense", "keyword"]
    assert report["model_id"] and report["date"] and report["archive"]["chunks"] > 0
    for mode in report["modes"]:
        m = report["metrics"][mode]
        for key in ("src_recall@1", "src_recall@10", "ans_recall@5", "mrr@10", "ndcg@10", "highlight_hit",
                    "shown_precision", "shown_recall", "short_em", "short_f1", "abstention", "latency_p50_ms",
                    "latency_p95_ms"):
            assert key in m
        # the CI is the bootstrap CI of this mode's per-question hits, in percent
        ranks = [int(r["src_rank"]) if r["src_rank"] else None for r in csv_rows if r["mode"] == mode]
        expected = bootstrap_ci(hit_at(ranks, 5))
        assert report["ci95"][mode]["src_recall@5"] == pytest.approx([100 * expected[0], 100 * expected[1]], abs=0.01)
    assert report["metrics"]["hybrid"]["src_recall@5"] >= 80.0  # easy: ~50 docs, CMRC questions
    assert {(p["a"], p["b"]) for p in report["paired"]} == {("hybrid", "dense"), ("hybrid", "keyword"), ("dense", "keyword")}
    rows = [json.loads(x) for x in (out / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 30
    top = rows[0]["modes"]["hybrid"]["hits"]
    assert top and {"article_id", "title", "score", "snippet", "gold", "has_answer"} <= set(top[0])
    assert len((out / "questions.csv").read_text(encoding="utf-8").splitlines()) == 1 + 30 * 3
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page and "<script" not in page and "source-recall@k" in page
    assert len(list((cache / "eval-archives").iterdir())) == 1  # cached under <stem>-<sha12>
    assert next((cache / "eval-archives").iterdir()).name.startswith("cmrc_slice.corpus-")


def test_compare_shows_deltas(cmrc_run, tmp_path, capsys):
    out, _ = cmrc_run
    old = json.loads((out / "report.json").read_text(encoding="utf-8"))
    new = json.loads(json.dumps(old))
    new["metrics"]["hybrid"]["src_recall@1"] = old["ci95"]["hybrid"]["src_recall@1"][0] - 5
    (tmp_path / "new.json").write_text(json.dumps(new, ensure_ascii=False), encoding="utf-8")
    capsys.readouterr()
    assert eval_main(["--compare", str(out / "report.json"), str(tmp_path / "new.json")]) == 0
    text = capsys.readouterr().out
    delta = new["metrics"]["hybrid"]["src_recall@1"] - old["metrics"]["hybrid"]["src_recall@1"]
    assert "source-recall@1" in text and f"({delta:+.1f})" in text
    verdicts = {(mode, name): v for mode, name, _, _, _, v in compare_rows(old, new)}
    assert verdicts[("hybrid", "src_recall@1")] == "worse" and verdicts[("dense", "src_recall@1")] == "same"


def test_drcd_slice_runs(shared_eval, tmp_path, encoder, monkeypatch):
    corpus = corpus_slice(shared_eval, "drcd_dev", 20, 20, tmp_path / "drcd_slice.corpus.jsonl")
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))
    status = eval_main([str(shared_eval / "drcd_dev.questions.jsonl"), "--corpus", str(corpus), "--limit", "20",
                        "--modes", "hybrid,keyword", "--k", "1,5", "--out", str(tmp_path / "out")])
    assert status == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["ks"] == [1, 5] and report["metrics"]["keyword"]["src_recall@5"] >= 70.0


def test_cli_user_errors_are_one_line(tmp_path, capsys):
    assert eval_main([str(tmp_path / "missing.jsonl"), "--archive", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("qa eval: no question file") and "\n" not in err
    with pytest.raises(SystemExit):
        eval_main(["q.jsonl", "--modes", "hybrid,fuzzy"])
    assert "choose from hybrid,dense,keyword" in capsys.readouterr().err


def test_eval_is_registered_in_qa_cli():
    from qa import cli

    assert "eval" in cli.COMMANDS, "`eval` is not registered in qa/cli.py"
    assert "eval" in cli.build_parser()._subparsers._group_actions[0].choices


def test_qa_eval_compares_reports(cmrc_run, capsys):
    from qa import cli

    out, _ = cmrc_run
    assert cli.main(["eval", "--compare", str(out / "report.json"), str(out / "report.json")]) == 0
    assert "source-recall@1" in capsys.readouterr().out
