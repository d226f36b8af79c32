"""The web chat over an archive: ask, read cited sources, follow up, filter, add pages.

A thin view: what a turn means lives in `qa.chat` (follow-ups via `qa.conversation`,
question dates via `qa.dates`), uploads in `qa.uploads`; this module builds widgets and
wires them to those and to `qa.Archive`. Replies are HTML built with every archive
string escaped, shown by a Chatbot with Markdown and LaTeX rendering off. It lives in the
package so that an installed wheel can serve it (`qa serve`); `app.py` only calls `main`.

    python app.py [--archive DIR] [--port 7860] ...   (or: qa serve ...)
    python app.py --backend milvus --uri ./archive.db|http://host:19530 ...
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from .cli import DEFAULT_ARCHIVE_ENV

ALL = "（全部）"
SAMPLE_SOURCES = {"焦作日报", "中華民國總統府新聞稿"}
SAMPLE_EXAMPLES = [
    "周庄镇2021年累计完成税收多少？",
    "修武县周庄镇获得了多少项荣誉？",
    "焦作市推进了多少个高速公路项目？",
    "1992年总统接见旅居泰国侨胞代表时说了什么？",
    "蔡英文总统出访了哪些国家？",
]
CSS = """
.qa-reply mark, .qa-question mark { background: #fde68a; color: inherit; padding: 0 1px; }
.qa-reply mark strong { font-weight: 700; }
.qa-lead { font-size: 1.05em; margin: 0 0 .3em 0; }
.qa-short { display: block; font-size: 1.15em; margin-bottom: .15em; }
.qa-meta { color: #6b7280; margin-bottom: .5em; }
.qa-meta small { font-size: .8em; }
.qa-source { border-left: 3px solid #d1d5db; padding: .25em .6em; margin: .45em 0; }
.qa-source.qa-rel-high { border-left-color: #16a34a; }
.qa-source.qa-rel-medium { border-left-color: #d97706; }
.qa-source.qa-rel-medium mark { background: #fef3c7; }
.qa-source.qa-rel-low mark { background: #f3f4f6; }
.qa-rel { font-size: .75em; color: #4b5563; white-space: nowrap; margin-left: .3em; }
.qa-dot { display: inline-block; width: .6em; height: .6em; border-radius: 50%; margin-right: .25em;
          vertical-align: .05em; background: #9ca3af; }
.qa-rel-high .qa-dot { background: #16a34a; }
.qa-rel-medium .qa-dot { background: #d97706; }
.qa-rel-low .qa-dot { background: #d1d5db; border: 1px solid #9ca3af; }
.qa-date-unknown { color: #6b7280; font-style: italic; }
.qa-source > summary { cursor: pointer; list-style: none; }
.qa-source > summary::-webkit-details-marker { display: none; }
.qa-cite, .qa-passage, .qa-expand, .qa-expanded { display: block; }
.qa-passage { margin: .2em 0; white-space: pre-wrap; }
.qa-expand, .qa-expanded, .qa-collapse { color: #2563eb; font-size: .8em; }
.qa-expanded, .qa-source[open] > summary .qa-expand, .qa-source[open] > summary .qa-passage { display: none; }
.qa-source[open] > summary .qa-expanded { display: block; }
.qa-fulltext { white-space: pre-wrap; background: #f9fafb; padding: .5em; border-radius: 4px; font-size: .95em;
               margin-top: .3em; }
.qa-inplace { background: #eef2ff; box-shadow: -.5em 0 0 #eef2ff, .5em 0 0 #eef2ff; }
.qa-collapse { background: none; border: none; padding: .3em 0; cursor: pointer; }
.qa-related { margin-top: .6em; color: #4b5563; }
.qa-related > summary { cursor: pointer; font-size: .9em; }
.qa-related ul { margin: .3em 0 0 0; padding-left: 1.2em; }
.qa-related-item { margin: .35em 0; }
.qa-related-item .qa-cite, .qa-related-item .qa-passage { display: block; font-size: .9em; }
.qa-related-item .qa-passage { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical;
                               overflow: hidden; }
.qa-notfound p { margin: .2em 0; }
#qa-archive-info, #qa-archive-info tr, #qa-archive-info td {
    border: none !important; background: none !important; }
#qa-archive-info { border-collapse: collapse; margin: .2em 0; }
#qa-archive-info td { padding: 3px 18px 3px 0; vertical-align: top; }
#qa-archive-info td:first-child { color: #6b7280; white-space: nowrap; }
"""


# After a reply the reader should see its top (the answer line), not its bottom. Gradio's
# Chatbot can only scroll to the end (`autoscroll`), so that is off and this script,
# run once on page load, does the scrolling: a new question scrolls to the end (where
# the pending reply appears); a new or replaced reply puts its question at the top of
# the chat (or, for a long question, the reply itself). It also closes an opened source
# from the button at the end of its article (the reply HTML itself carries no scripts).
CHAT_JS = r"""
() => {
  const box = () => document.querySelector('#qa-chat .bubble-wrap');
  let seen = null, queued = false;
  const state = (b) => {
    const r = [...b.querySelectorAll('.qa-reply')].pop();
    return [b.querySelectorAll('.qa-question').length, b.querySelectorAll('.qa-reply').length,
            r ? r.textContent.length + ':' + r.textContent.slice(0, 120) : ''].join('|');
  };
  const place = () => {
    queued = false;
    const b = box(); if (!b) return;
    const now = state(b);
    if (now === seen) return;
    seen = now;
    const qs = b.querySelectorAll('.qa-question'), rs = b.querySelectorAll('.qa-reply');
    if (qs.length > rs.length) { b.scrollTop = b.scrollHeight; return; }
    const reply = rs[rs.length - 1]; if (!reply) return;
    const q = qs[qs.length - 1];
    const top = b.getBoundingClientRect().top;
    let target = reply.getBoundingClientRect().top;
    if (q && target - q.getBoundingClientRect().top < b.clientHeight / 3) target = q.getBoundingClientRect().top;
    b.scrollTop += target - top - 8;
    const chat = document.querySelector('#qa-chat').getBoundingClientRect();
    if (chat.top < 0 || chat.bottom > window.innerHeight) document.querySelector('#qa-chat').scrollIntoView({block: 'nearest'});
  };
  const watch = () => {
    const chat = document.querySelector('#qa-chat');
    if (!chat) { setTimeout(watch, 200); return; }
    const b = box(); if (b) seen = state(b);
    new MutationObserver(() => { if (!queued) { queued = true; requestAnimationFrame(place); } })
      .observe(chat, {childList: true, subtree: true, characterData: true});
  };
  watch();
  document.addEventListener('click', (e) => {
    const button = e.target.closest && e.target.closest('.qa-collapse');
    const details = button && button.closest('details');
    if (!details) return;
    details.open = false;
    const b = box(), s = details.querySelector('summary');
    if (b && s && s.getBoundingClientRect().top < b.getBoundingClientRect().top)
      b.scrollTop += s.getBoundingClientRect().top - b.getBoundingClientRect().top - 8;
    s && s.focus();
  });
}
"""
# gradio's own words in the upload box, for browsers whose language gradio shows in
# English by default; Chinese browsers already get these from gradio.
UPLOAD_TEXT = {"upload_text.drop_file": "将文件拖放到此处", "common.or": "或", "upload_text.click_to_upload": "点击选择文件"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="app.py", description="Web chat over a newspaper archive: answers are cited passages.")
    p.add_argument("--archive", metavar="DIR", help=f"archive directory (default: ${DEFAULT_ARCHIVE_ENV}, else ./archive, "
                   "which is created from the bundled sample when missing; a named archive that does not exist is created empty)")
    p.add_argument("--model", help="embedding model name or local path (default: the archive's own)")
    from .cli_backend import add_backend_args

    add_backend_args(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 exposes it to the network)")
    p.add_argument("--port", default="7860", help="port (default 7860; 0 or 'auto' picks a free one)")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link (needs internet)")
    p.add_argument("--k", type=int, default=5, help="passages cited per answer (default 5)")
    p.add_argument("--max-upload-mb", type=float, default=20, help="largest file accepted in the Archive tab (default 20)")
    p.add_argument("--concurrency", type=int, default=4, help="questions answered at the same time (default 4)")
    p.add_argument("--no-warm", action="store_true", help="load the model on the first question instead of at start")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    return p


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def open_archive(args: argparse.Namespace):
    """The archive to serve and a notice for the UI ("" if none). The default archive is
    made from the bundled sample on first run; a named one that is missing starts empty."""
    from qa import Archive
    from qa.cli_backend import backend_kind, open_args
    from qa.sample import ensure_sample_archive

    if backend_kind(args) != "local":  # a Milvus archive is named by its URI, never made from the sample
        archive = open_args(args, model=args.model)
        notice = "" if archive.backend.chunk_count() else "档案库是空的：请在「档案库」页上传版面或 JSONL 文件。"
        return archive, notice
    named = args.archive or os.environ.get(DEFAULT_ARCHIVE_ENV)
    path = Path(named or "archive")
    if named:
        existed = (path / "archive.db").exists()
        archive = Archive.open(path, model=args.model)
        notice = "" if existed else f"新建了空档案库 `{path}`：请在「档案库」页上传版面或 JSONL 文件。"
        return archive, notice
    if (path / "archive.db").exists():
        return Archive.open(path, model=args.model), ""
    from tqdm import tqdm

    print(f"creating the sample archive in {path.resolve()} (first run) ...", file=sys.stderr, flush=True)
    bar = tqdm(total=0, unit="article", desc="sample", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total, bar.n = total, done
        bar.refresh()

    try:
        archive = ensure_sample_archive(path, args.model, progress=progress)
    finally:
        bar.close()
    return archive, ""


def info_html(archive) -> str:
    """The Archive tab's summary, with dates and times as people write them."""
    from qa.chat_text import human_date, human_time

    i = archive.info()
    dates = f"{human_date(i.date_min, 'zh') or '—'} – {human_date(i.date_max, 'zh') or '—'}" if i.date_max else "—"
    rows = [("档案库", i.path), ("文章", f"{i.articles:,}"), ("段落", f"{i.chunks:,}（已向量化 {i.vectors:,}）"),
            ("模型", i.model_id or "—"), ("日期", dates),
            ("来源", "、".join(i.sources) or "—"), ("上次导入", human_time(i.last_ingest_at, "zh") or "—")]
    body = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f'<table id="qa-archive-info">{body}</table>'


def report_html(report, refused) -> str:
    failed = [*refused, *report.failed]
    head = (f"<p>新增 {report.added} 篇，更新 {report.updated} 篇，未变 {report.unchanged} 篇，"
            f"失败 {len(failed)} 个；{report.chunks} 个段落，用时 {report.seconds:.1f} 秒。</p>")
    items = "".join(
        f"<li><code>{html.escape(Path(f.path).name)}{f':{f.line}' if f.line else ''}</code>：{html.escape(f.reason)}</li>"
        for f in failed)
    return head + (f'<p>未能导入：</p><ul class="qa-failed">{items}</ul>' if items else "")


def upload_dir(archive) -> Path:
    """Where uploaded files are kept (`<it>/uploads/`): a local archive's directory; for a
    milvus-lite file `<file>.files`, for a Milvus server `./milvus-files` (the files are
    kept for re-ingest; the server holds the index)."""
    if archive.backend.kind == "local":
        return archive.path
    location = str(archive.backend.location)
    return Path("milvus-files") if "://" in location else Path(location + ".files")


def build_app(archive, *, k: int = 5, max_upload_mb: float = 20, notice: str = ""):
    """The gradio Blocks for `archive` (not launched)."""
    import gradio as gr

    from qa.chat import (ChatFilters, parse_filter_date, render_message, render_question, render_turn, run_turn,
                         turn_language)
    from qa.chat_text import question_language, range_label, t
    from qa.errors import QAError
    from qa.records import IngestReport
    from qa.uploads import UPLOAD_SUFFIXES, store_uploads

    ingest_lock = threading.Lock()

    def facets() -> dict[str, Any]:
        return archive.facets()

    def is_sample() -> bool:
        return bool(SAMPLE_SOURCES & set(facets()["sources"]))

    def filters_from(date_from: str, date_to: str, source: str, page: str) -> ChatFilters:
        return ChatFilters(parse_filter_date(date_from), parse_filter_date(date_to, end=True),
                           None if source in (None, "", ALL) else source, None if page in (None, "", ALL) else str(page))

    def qdate_button(turn) -> dict:
        if turn is not None and turn.dates_applied and turn.question_dates:
            lang = turn_language(turn)
            return gr.update(value=t(lang, "remove_qdate", label=range_label(turn.question_dates, lang)), visible=True)
        return gr.update(visible=False)

    def answer(question: str, queries: list[str], filt: tuple, use_qdates: bool):
        lang = question_language(question)
        if not archive.backend.chunk_count():  # one indexed count, not info()'s facets and file stats
            return None, render_message(t(lang, "empty_archive"))
        try:
            filters = filters_from(*filt)
        except ValueError as e:
            return None, render_message(str(e))
        try:
            turn = run_turn(archive, question, queries, filters, k=k, use_question_dates=use_qdates)
        except QAError as e:  # e.g. a model that does not match the archive: say what to do
            return None, render_message(str(e))
        return turn, render_turn(turn)

    def respond(message: str, history: list | None = None, conv: dict | None = None, date_from: str | None = None,
                date_to: str | None = None, source: str = ALL, page: str = ALL, use_question_dates: bool = True):
        """Show the question at once, then the reply. Through the HTTP API (`/ask`) only the
        question is needed: the history starts empty and every filter is optional."""
        message = (message or "").strip()
        history, conv, use_qdates = list(history or []), conv or {"queries": [], "last": None}, use_question_dates
        if not message:
            yield history, "", conv, gr.update()
            return
        history = [*history, {"role": "user", "content": render_question(message)}]
        yield history, "", conv, gr.update(visible=False)
        queries = list(conv.get("queries", []))
        turn, reply = answer(message, queries, (date_from, date_to, source, page), use_qdates)
        history = [*history, {"role": "assistant", "content": reply}]
        conv = {"queries": queries + [turn.query if turn else message], "last": {"question": message, "queries": queries}}
        yield history, "", conv, qdate_button(turn)

    def drop_question_dates(history: list | None = None, conv: dict | None = None, date_from: str | None = None,
                            date_to: str | None = None, source: str = ALL, page: str = ALL):
        """Answer the last question again without the dates found in it."""
        last = (conv or {}).get("last")
        if not last or not history:
            return history, conv, gr.update(visible=False)
        turn, reply = answer(last["question"], last["queries"], (date_from, date_to, source, page), False)
        history = [*history[:-1], {"role": "assistant", "content": reply}]
        conv = {"queries": last["queries"] + [turn.query if turn else last["question"]], "last": last}
        return history, conv, gr.update(visible=False)

    def ingest(files, progress=gr.Progress()):
        if not files:
            return "<p>请先选择要上传的文件。</p>", info_html(archive), *choices(), gr.update(), date_span(), gr.update()
        paths = [f if isinstance(f, str) else f.name for f in files]
        with ingest_lock:
            stored, refused = store_uploads(paths, upload_dir(archive), int(max_upload_mb * 1e6))
            report = IngestReport()
            if stored:
                progress((0, None), desc="导入中", unit="篇")

                def on_progress(done: int, total: int) -> None:
                    progress((done, total) if total else (0, None), desc="导入中", unit="篇")

                try:
                    report = archive.ingest(stored, progress=on_progress)
                except (QAError, OSError, ValueError) as e:
                    return (f"<p>导入失败：{html.escape(str(e))}</p>", info_html(archive), *choices(), gr.update(),
                            date_span(), gr.update())
        banner = gr.update(visible=False) if archive.info().articles else gr.update()
        return report_html(report, refused), info_html(archive), *choices(), banner, date_span(), None

    def fill_example(evt) -> str:
        """The clicked example question goes into the question box."""
        return evt.value["text"] if isinstance(evt.value, dict) else str(evt.value)

    # gradio finds event-data parameters by their (resolved) type hint
    fill_example.__annotations__ = {"evt": gr.SelectData, "return": str}

    def choices() -> tuple[dict, dict]:
        f = facets()
        return (gr.update(choices=[ALL, *f["sources"]]), gr.update(choices=[ALL, *map(str, f["pages"])]))

    def date_span() -> str:
        f = facets()
        from qa.chat_text import human_date

        if not f["date_max"]:
            return "档案日期范围：（暂无）"
        return f"档案日期范围：{human_date(f['date_min'], 'zh')} – {human_date(f['date_max'], 'zh')}"

    f0 = facets()
    # delete_cache: uploads land in gradio's temp folder first; copies live in <archive>/uploads
    with gr.Blocks(title="档案问答 archive QA", delete_cache=(3600, 3600)) as demo:
        gr.Markdown("## 档案问答 · archive QA\n用中文或英文提问；回答是档案中的原文段落，并注明出处。")
        banner = gr.Markdown(notice, visible=bool(notice), elem_id="qa-notice")
        with gr.Tab("问答 Chat"):
            with gr.Row():
                with gr.Column(scale=4):
                    chatbot = gr.Chatbot(
                        label="对话", elem_id="qa-chat", height=640, render_markdown=False, sanitize_html=True,
                        autoscroll=False,  # CHAT_JS shows the top of each new reply instead of the end
                        latex_delimiters=[], feedback_options=None, buttons=["copy"], allow_tags=False,
                        examples=[{"text": q} for q in SAMPLE_EXAMPLES] if is_sample() else None,
                        placeholder="问一个关于档案的问题，例如某地某年的数据、某人说过的话。",
                    )
                    with gr.Row():
                        msg = gr.Textbox(show_label=False, placeholder="输入问题，按 Enter 提问…", scale=8,
                                         elem_id="qa-question", autofocus=True)
                        ask = gr.Button("提问", variant="primary", scale=1, elem_id="qa-ask", min_width=80)
                    new_chat = gr.Button("新对话", size="sm", elem_id="qa-new")
                with gr.Column(scale=1, min_width=250):
                    gr.Markdown("### 筛选")
                    qdate = gr.Button("", visible=False, size="sm", elem_id="qa-remove-qdate")
                    use_qdates = gr.Checkbox(True, label="识别问题中的日期（如 2021年、去年三月）", elem_id="qa-use-qdates")
                    date_from = gr.Textbox(label="开始日期", placeholder="YYYY-MM-DD / YYYY", elem_id="qa-date-from")
                    date_to = gr.Textbox(label="结束日期", placeholder="YYYY-MM-DD / YYYY", elem_id="qa-date-to")
                    source = gr.Dropdown([ALL, *f0["sources"]], value=ALL, label="来源 / 报纸", elem_id="qa-source")
                    page = gr.Dropdown([ALL, *map(str, f0["pages"])], value=ALL, label="版面", elem_id="qa-page",
                                       allow_custom_value=True)
                    clear = gr.Button("清除筛选", size="sm", elem_id="qa-clear-filters")
                    span = gr.Markdown(date_span(), elem_id="qa-date-span")
        with gr.Tab("档案库 Archive"):
            info = gr.HTML(info_html(archive), elem_id="qa-info")
            with gr.Row():
                refresh = gr.Button("刷新", size="sm", elem_id="qa-refresh", scale=0, min_width=80)
            files = gr.File(label=f"上传版面或 JSONL（{' '.join(UPLOAD_SUFFIXES)}；每个不超过 {max_upload_mb:g} MB）",
                            file_count="multiple", file_types=list(UPLOAD_SUFFIXES), type="filepath", elem_id="qa-upload")
            ingest_btn = gr.Button("导入", variant="primary", elem_id="qa-ingest")
            report = gr.HTML(elem_id="qa-report")

        conv = gr.State({"queries": [], "last": None})
        filt = [date_from, date_to, source, page]
        ask_args = dict(fn=respond, inputs=[msg, chatbot, conv, *filt, use_qdates], outputs=[chatbot, msg, conv, qdate])
        msg.submit(**ask_args, api_name="ask")
        ask.click(**ask_args, api_visibility="private")
        chatbot.example_select(fill_example, None, msg, api_visibility="private").then(**ask_args, api_visibility="private")
        qdate.click(drop_question_dates, [chatbot, conv, *filt], [chatbot, conv, qdate], api_name="drop_question_dates")
        new_chat.click(lambda: ([], {"queries": [], "last": None}, gr.update(visible=False)), None,
                       [chatbot, conv, qdate], api_visibility="private")
        chatbot.clear(lambda: ({"queries": [], "last": None}, gr.update(visible=False)), None, [conv, qdate],
                      api_visibility="private")
        clear.click(lambda: ("", "", ALL, ALL), None, filt, api_visibility="private")
        refresh.click(lambda: info_html(archive), None, info, api_visibility="private")
        ingest_btn.click(ingest, [files], [report, info, source, page, banner, span, files], api_name="ingest", concurrency_limit=1)
    return demo


def warm(archive) -> None:
    """Load the model, index and word segmenter before the first question needs them."""
    try:
        archive.search("周庄镇 warm up", k=1)
    except Exception:  # noqa: BLE001 - the first question will report any real problem
        logging.getLogger(__name__).warning("warming the model failed", exc_info=True)


def offline_theme():
    """The default look with system fonts only: the stock theme fetches Google Fonts,
    which an offline machine cannot reach (and CJK text needs a CJK font first)."""
    import gradio as gr

    sans = ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "system-ui", "sans-serif"]
    mono = ["Noto Sans Mono CJK SC", "ui-monospace", "monospace"]
    return gr.themes.Default(font=[gr.themes.Font(f) for f in sans], font_mono=[gr.themes.Font(f) for f in mono])


def upload_i18n():
    import gradio as gr

    return gr.I18n(en=UPLOAD_TEXT)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    port = free_port(args.host) if str(args.port).lower() in ("0", "auto") else int(args.port)
    from qa.errors import QAError

    try:
        archive, notice = open_archive(args)
    except (QAError, OSError, ValueError) as e:
        print(f"app.py: {e}", file=sys.stderr)
        return 2
    if not args.no_warm:  # load the model and index now, so the first question is quick
        threading.Thread(target=warm, args=(archive,), name="warm", daemon=True).start()
    demo = build_app(archive, k=args.k, max_upload_mb=args.max_upload_mb, notice=notice)
    demo.queue(default_concurrency_limit=args.concurrency)
    demo.launch(server_name=args.host, server_port=port, share=args.share, prevent_thread_lock=True,
                max_file_size=f"{args.max_upload_mb:g}mb", css=CSS, js=CHAT_JS, ssr_mode=False, quiet=True,
                theme=offline_theme(), i18n=upload_i18n())
    print(f"archive QA chat on {demo.local_url} (archive {archive.backend.location})", flush=True)
    if demo.share_url:
        print(f"public link: {demo.share_url}", flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        archive.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
