"""What `qa eval` writes and prints: report.json, per-question JSONL/CSV, an HTML chart,
terminal tables, and the difference between two reports.

The HTML is one self-contained file (inline SVG, no scripts, no CDN) so it can be mailed,
attached to a pull request, or opened on an offline machine.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import os
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .eval import EvalRun, QuestionResult

REPORT_SCHEMA = 1
ROOT = Path(__file__).resolve().parent.parent
COLORS = {"hybrid": "#1b6ac9", "dense": "#d9480f", "keyword": "#2b8a3e"}
FALLBACK_COLORS = ("#862e9c", "#e67700", "#0b7285", "#5c940d")
DASHES = ("none", "6 3", "2 3", "8 3 2 3")
LOWER_IS_BETTER = ("abstention", "latency_p50_ms", "latency_p95_ms", "shown_count")


def metric_label(name: str) -> str:
    """Column names people read: `src_recall@3` -> `source-recall@3`."""
    return (name.replace("src_recall", "source-recall").replace("ans_recall", "answer-recall")
            .replace("mrr", "MRR").replace("ndcg", "nDCG").replace("highlight_hit", "highlight-hit")
            .replace("latency_p50_ms", "latency p50 (ms)").replace("latency_p95_ms", "latency p95 (ms)")
            .replace("shown_recall", "shown-source recall").replace("shown_precision", "shown-source precision")
            .replace("shown_count", "sources shown (mean)").replace("short_answered", "short answer given")
            .replace("short_em", "short-answer EM").replace("short_f1", "short-answer F1"))


def git_commit(root: Path = ROOT) -> str | None:
    """The checked-out commit, read from `.git` directly (no git process), or None."""
    git = root / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head or None
        ref = head.split(None, 1)[1]
        if (git / ref).exists():
            return (git / ref).read_text().strip()
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        return None
    return None


def _loadavg() -> list[float] | None:
    """Other work on the machine slows queries; the load average says how much there was."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run_metadata(
    archive: Any, questions_path: str | Path, params: dict[str, Any], corpus: str | Path | None = None,
    started: dt.datetime | None = None,
) -> dict[str, Any]:
    """Who/what/when of a run: date (when it started), commit, model, archive, versions, parameters."""
    import faiss

    from . import __version__
    from .eval import file_sha256

    info = asdict(archive.info())
    return {
        "date": (started or dt.datetime.now()).astimezone().isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "qa_version": __version__,
        "model_id": info.get("model_id"),
        "archive": info,
        "questions_file": str(questions_path),
        "questions_sha256": file_sha256(questions_path),
        "corpus_file": str(corpus) if corpus else None,
        "params": {**params, "fusion": asdict(archive.fusion), "abstain": asdict(archive.abstain)},
        "environment": {"python": platform.python_version(), "faiss": faiss.__version__,
                        "machine": platform.machine(), "cpus": os.cpu_count(), "loadavg": _loadavg()},
    }


def report_dict(run: EvalRun, meta: dict[str, Any]) -> dict[str, Any]:
    """The content of report.json."""
    return {
        "schema": REPORT_SCHEMA,
        **meta,
        "n_questions": len(run.questions),
        "modes": list(run.modes),
        "ks": list(run.ks),
        "seconds": round(run.seconds, 1),
        "metrics": {m: s.metrics for m, s in run.summaries.items()},
        "ci95": {m: {k: list(v) for k, v in s.ci95.items()} for m, s in run.summaries.items()},
        "paired": [asdict(p) for p in run.paired],
    }


def _result_row(r: QuestionResult) -> dict[str, Any]:
    d = asdict(r)
    d.pop("question_id")
    d.pop("mode")
    return d


def write_outputs(run: EvalRun, meta: dict[str, Any], out: str | Path) -> dict[str, Path]:
    """Write report.json, questions.jsonl, questions.csv and report.html into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = report_dict(run, meta)
    paths = {"report": out / "report.json", "questions": out / "questions.jsonl",
             "csv": out / "questions.csv", "html": out / "report.html"}
    paths["report"].write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    with open(paths["questions"], "w", encoding="utf-8") as f:
        for i, q in enumerate(run.questions):
            row = {"id": q.id, "question": q.question, "answers": list(q.answers), "gold": sorted(q.gold),
                   "gold_title_contains": list(q.gold_titles), "filters": q.filters,
                   "modes": {m: _result_row(run.results[m][i]) for m in run.modes}}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(paths["csv"], "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "mode", "question", "answers", "gold", "src_rank", "ans_rank", "highlight_rank", "ndcg10",
                    "found", "confidence", "latency_ms", "top1_article", "top1_title", "highlight", "short_answer",
                    "short_em", "short_f1", "n_shown", "n_shown_gold"])
        for i, q in enumerate(run.questions):
            for m in run.modes:
                r = run.results[m][i]
                top = r.hits[0] if r.hits else None
                w.writerow([q.id, m, q.question, " | ".join(q.answers), " | ".join(sorted(q.gold) + list(q.gold_titles)),
                            r.src_rank or "", r.ans_rank or "", r.highlight_rank or "", round(r.ndcg10, 4), int(r.found),
                            r.confidence, r.latency_ms, top.article_id if top else "", top.title if top else "", r.highlight,
                            r.short_answer or "", r.short_em, r.short_f1, r.n_shown, r.n_shown_gold])
    paths["html"].write_text(render_html(report), encoding="utf-8")
    return paths


# -- terminal ------------------------------------------------------------------------------
def _fmt(v: float | None, ci: list[float] | tuple[float, float] | None = None) -> str:
    if v is None:
        return "-"
    s = f"{v:.1f}"
    return f"{s} [{ci[0]:.1f}–{ci[1]:.1f}]" if ci else s


def make_console() -> Any:
    """A rich console; when output goes to a file or pipe (CI logs), 120 columns instead of
    rich's 80, so the tables don't wrap."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=120)


def print_report(report: dict[str, Any], console: Any = None) -> None:
    """The metrics table (modes as columns, CIs in brackets) and the paired comparison."""
    from rich import box
    from rich.table import Table

    console = console or make_console()
    modes = report["modes"]
    title = (f"{Path(report['questions_file']).name}: {report['n_questions']} questions, "
             f"{report['archive']['chunks']} chunks, {report['date'][:10]}")
    t = Table(title=title, caption="percent of questions, bootstrap 95% CI in brackets", box=box.SIMPLE_HEAD)
    t.add_column("metric")
    for m in modes:
        t.add_column(m, justify="right", no_wrap=True)
    for name in report["metrics"][modes[0]]:
        t.add_row(metric_label(name), *[_fmt(report["metrics"][m].get(name), report["ci95"][m].get(name)) for m in modes])
    console.print(t)
    if report.get("paired"):
        p = Table(title="paired, per question, on reciprocal rank@10", box=box.SIMPLE_HEAD)
        for col in ("a vs b", "a wins", "ties", "b wins", "MRR a−b [95% CI]", "sign test p"):
            p.add_column(col, justify="right" if col != "a vs b" else "left")
        for r in report["paired"]:
            p.add_row(f"{r['a']} vs {r['b']}", str(r["wins"]), str(r["ties"]), str(r["losses"]),
                      f"{r['mrr_delta']:+.1f} [{r['ci95'][0]:+.1f}, {r['ci95'][1]:+.1f}]", f"{r['p_sign']:.2g}")
        console.print(p)


def markdown_table(report: dict[str, Any], metrics: list[str] | None = None) -> str:
    """The main table as Markdown (for the README)."""
    modes = report["modes"]
    names = metrics or list(report["metrics"][modes[0]])
    lines = ["| metric | " + " | ".join(modes) + " |", "|---|" + "---:|" * len(modes)]
    for n in names:
        lines.append(f"| {metric_label(n)} | " + " | ".join(
            _fmt(report["metrics"][m].get(n), report["ci95"][m].get(n)) for m in modes) + " |")
    return "\n".join(lines)


# -- comparing two reports -----------------------------------------------------------------
def compare_rows(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str, float, float, float, str]]:
    """(mode, metric, old, new, new - old, verdict) for every metric both reports have.
    verdict: 'better'/'worse' when the change is outside the old 95% CI (latency: more
    than 20%), else 'same'."""
    rows = []
    for mode in [m for m in new["modes"] if m in old["modes"]]:
        for name, nv in new["metrics"][mode].items():
            ov = old["metrics"][mode].get(name)
            if ov is None:
                continue
            ci = old.get("ci95", {}).get(mode, {}).get(name)
            delta = nv - ov
            verdict = "same"
            outside_ci = bool(ci) and not (ci[0] <= nv <= ci[1])
            slower_faster = name.startswith("latency") and abs(delta) > 0.2 * max(abs(ov), 1e-9)
            if outside_ci or slower_faster:
                better = delta < 0 if name in LOWER_IS_BETTER else delta > 0
                verdict = "better" if better else "worse"
            rows.append((mode, name, ov, nv, delta, verdict))
    return rows


def compare_notes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Why two reports may not be comparable."""
    notes = []
    if old.get("questions_sha256") != new.get("questions_sha256") or old.get("n_questions") != new.get("n_questions"):
        notes.append(f"question sets differ ({old.get('n_questions')} vs {new.get('n_questions')} questions, "
                     f"{Path(old.get('questions_file', '?')).name} vs {Path(new.get('questions_file', '?')).name})")
    if old.get("model_id") != new.get("model_id"):
        notes.append(f"models differ ({old.get('model_id')} vs {new.get('model_id')})")
    oc, nc = old.get("archive", {}).get("chunks"), new.get("archive", {}).get("chunks")
    if oc != nc:
        notes.append(f"archives differ ({oc} vs {nc} chunks)")
    return notes


def print_compare(old: dict[str, Any], new: dict[str, Any], console: Any = None) -> None:
    """The table of new − old per mode and metric, after notes on comparability."""
    from rich import box
    from rich.table import Table

    console = console or make_console()
    for n in compare_notes(old, new):
        console.print(f"[yellow]note:[/] {n}")
    t = Table(box=box.SIMPLE_HEAD, title=f"new − old  ({old.get('date', '?')[:10]} {str(old.get('git_commit') or '')[:8]} → "
                                         f"{new.get('date', '?')[:10]} {str(new.get('git_commit') or '')[:8]})",
              caption="old → new (Δ); green/red: outside the old run's 95% CI (latency: a change over 20%)")
    rows = compare_rows(old, new)
    modes = list(dict.fromkeys(r[0] for r in rows))
    t.add_column("metric")
    for m in modes:
        t.add_column(m, justify="right", no_wrap=True)
    style = {"better": "green", "worse": "red", "same": "dim"}
    cells = {(mode, name): f"{ov:.1f} → {nv:.1f} [{style[v]}]({d:+.1f})[/]" for mode, name, ov, nv, d, v in rows}
    for name in dict.fromkeys(r[1] for r in rows):
        t.add_row(metric_label(name), *[cells.get((m, name), "-") for m in modes])
    console.print(t)


def load_report(path: str | Path) -> dict[str, Any]:
    """A report.json; ValueError when it is not one."""
    try:
        r = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not a JSON report ({e.msg})") from None
    if not isinstance(r, dict) or "metrics" not in r or "modes" not in r:
        raise ValueError(f"{path}: not a `qa eval` report.json (no metrics/modes)")
    return r


# -- HTML with inline SVG --------------------------------------------------------------------
def _color(mode: str, i: int) -> str:
    return COLORS.get(mode, FALLBACK_COLORS[i % len(FALLBACK_COLORS)])


def svg_curves(report: dict[str, Any], prefix: str, title: str, width: int = 440, height: int = 300) -> str:
    """Recall@k per mode as lines over k, with 95% CI whiskers and hover titles."""
    ks, modes = report["ks"], report["modes"]
    left, right, top, bottom = 48, 110, 30, 40
    pw, ph = width - left - right, height - top - bottom
    lows = [report["ci95"][m].get(f"{prefix}@{k}", [0, 0])[0] for m in modes for k in ks]
    y0 = max(0.0, min(90.0, 10 * int(min(lows + [100.0]) // 10)))

    def x(i: int) -> float:
        return left + (pw * i / (len(ks) - 1) if len(ks) > 1 else pw / 2)

    def y(v: float) -> float:
        return top + ph * (1 - (v - y0) / (100 - y0 or 1))

    e = html.escape
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="{e(title)}">',
           f'<text x="{left}" y="18" font-size="14" font-weight="bold">{e(title)}</text>']
    span = 100 - y0
    step = 2 if span <= 10 else 5 if span <= 30 else 10 if span <= 60 else 20
    for v in range(int(y0), 101, step):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
                   f'<text x="{left - 6}" y="{y(v) + 4:.1f}" font-size="11" text-anchor="end">{v:.0f}</text>')
    for i, k in enumerate(ks):
        out.append(f'<text x="{x(i):.1f}" y="{top + ph + 16}" font-size="11" text-anchor="middle">{k}</text>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 6}" font-size="11" text-anchor="middle">k (passages returned)</text>')
    for mi, m in enumerate(modes):
        c, dash = _color(m, mi), DASHES[mi % len(DASHES)]
        dx = 5 * (mi - (len(modes) - 1) / 2)  # dodge, so equal values stay visible
        pts = [(x(i) + dx, y(report["metrics"][m].get(f"{prefix}@{k}", 0.0))) for i, k in enumerate(ks)]
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" stroke-dasharray="{dash}" '
                   f'points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in pts)}"/>')
        for i, k in enumerate(ks):
            v = report["metrics"][m].get(f"{prefix}@{k}", 0.0)
            lo, hi = report["ci95"][m].get(f"{prefix}@{k}", [v, v])
            out.append(f'<line x1="{x(i) + dx:.1f}" x2="{x(i) + dx:.1f}" y1="{y(lo):.1f}" y2="{y(hi):.1f}" stroke="{c}" opacity="0.5"/>'
                       f'<circle cx="{x(i) + dx:.1f}" cy="{y(v):.1f}" r="3.5" fill="{c}">'
                       f'<title>{e(m)} {e(metric_label(prefix))}@{k}: {v:.1f} [{lo:.1f}–{hi:.1f}]</title></circle>')
        ly = top + 14 + 18 * mi
        out.append(f'<line x1="{left + pw + 12}" x2="{left + pw + 32}" y1="{ly - 4}" y2="{ly - 4}" stroke="{c}" '
                   f'stroke-width="3" stroke-dasharray="{dash}"/>'
                   f'<text x="{left + pw + 36}" y="{ly}" font-size="12">{e(m)}</text>')
    out.append("</svg>")
    return "".join(out)


def render_html(report: dict[str, Any]) -> str:
    """A self-contained page: recall@k charts, the metrics table, paired comparison, run facts."""
    e = html.escape
    modes = report["modes"]
    rows = "".join(
        f"<tr><td>{e(metric_label(n))}</td>" + "".join(
            f"<td>{_fmt(report['metrics'][m].get(n), report['ci95'][m].get(n))}</td>" for m in modes) + "</tr>"
        for n in report["metrics"][modes[0]])
    paired = "".join(
        f"<tr><td>{e(p['a'])} vs {e(p['b'])}</td><td>{p['wins']}</td><td>{p['ties']}</td><td>{p['losses']}</td>"
        f"<td>{p['mrr_delta']:+.1f} [{p['ci95'][0]:+.1f}, {p['ci95'][1]:+.1f}]</td><td>{p['p_sign']:.2g}</td></tr>"
        for p in report.get("paired", []))
    a = report.get("archive", {})
    facts = [("date", report.get("date")), ("commit", report.get("git_commit")), ("model", report.get("model_id")),
             ("questions", f"{report.get('questions_file')} ({report.get('n_questions')})"),
             ("archive", f"{a.get('path')} ({a.get('articles')} articles, {a.get('chunks')} chunks)"),
             ("params", json.dumps(report.get("params", {}), ensure_ascii=False))]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>qa eval: {e(Path(report.get('questions_file', '')).name)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:24px;color:#222}} table{{border-collapse:collapse;margin:12px 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}} td:first-child,th:first-child{{text-align:left}}
.charts{{display:flex;flex-wrap:wrap;gap:16px}} .facts td{{text-align:left;font-size:13px}}</style></head>
<body><h1>qa eval — {e(Path(report.get('questions_file', '')).name)}</h1>
<div class="charts">{svg_curves(report, 'src_recall', 'source-recall@k (%)')}{svg_curves(report, 'ans_recall', 'answer-recall@k (%)')}</div>
<h2>Metrics</h2><p>Percent of questions; bootstrap 95% confidence interval in brackets (1000 resamples).</p>
<table><tr><th>metric</th>{''.join(f'<th>{e(m)}</th>' for m in modes)}</tr>{rows}</table>
<h2>Paired comparison (reciprocal rank@10, per question)</h2>
<table><tr><th>a vs b</th><th>a wins</th><th>ties</th><th>b wins</th><th>MRR a−b [95% CI]</th><th>sign test p</th></tr>{paired}</table>
<h2>Run</h2><table class="facts">{''.join(f'<tr><td>{e(k)}</td><td>{e(str(v))}</td></tr>' for k, v in facts)}</table>
</body></html>
"""
