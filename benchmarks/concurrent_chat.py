"""20 chat sessions at once against the running web chat, through gradio_client.

Each session is its own gradio_client `Client` (so its own server-side conversation
state) and asks a short conversation whose answers are known in the sample archive,
including a follow-up that only works if the session's state is kept apart from the
others'. Prints p50/p95 reply time, correct answers and errors (target: 0 errors).

    python benchmarks/concurrent_chat.py                   # starts app.py on a free port
    python benchmarks/concurrent_chat.py --url http://127.0.0.1:7860/

Loopback only, bounded in sessions and in time (--timeout for the whole run).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.eval import percentile  # noqa: E402
MAX_SESSIONS = 50
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# Conversations with answers known in the sample archive: (question, text the reply must contain).
CONVERSATIONS: list[list[tuple[str, str]]] = [
    [("周庄镇2021年累计完成税收多少？", "1334万元"), ("那工业增加值呢？", "20.2%")],
    [("总统接见旅居泰国侨胞代表时说了什么？", "總統接見旅居泰國僑胞代表"), ("周庄镇2021年累计完成税收多少？", "1334万元")],
    [("修武县周庄镇获得了多少项荣誉？", "19项"), ("那工业增加值呢？", "20.2%"), ("火星上的木卫二冰川有多厚？", "没有找到")],
]


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    correct: int = 0
    wrong: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def reply_text(output: object) -> str:
    """The last assistant message of the chatbot output, as plain text."""
    chat = output[0] if isinstance(output, (list, tuple)) and output and isinstance(output[0], list) else output
    for msg in reversed(chat or []):
        if isinstance(msg, dict) and msg.get("role") == "assistant":
            content = msg.get("content")
            if isinstance(content, list):
                content = " ".join(c.get("text", "") if isinstance(c, dict) else str(c) for c in content)
            return re.sub(r"<[^>]+>", "", str(content))
    return ""


def session(n: int, url: str, result: Result, deadline: float) -> None:
    from gradio_client import Client

    conversation = CONVERSATIONS[n % len(CONVERSATIONS)]
    try:
        client = Client(url, verbose=False, download_files=False)
    except Exception as e:  # noqa: BLE001 - every failure is counted and shown
        with result.lock:
            result.errors.append(f"session {n}: connect: {type(e).__name__}: {e}")
        return
    history: list = []
    for question, expect in conversation:
        if time.monotonic() > deadline:
            with result.lock:
                result.errors.append(f"session {n}: out of time before {question!r}")
            return
        t0 = time.perf_counter()
        try:
            out = client.predict(question, history, "", "", "（全部）", "（全部）", True, api_name="/ask")
        except Exception as e:  # noqa: BLE001
            with result.lock:
                result.errors.append(f"session {n}: {question!r}: {type(e).__name__}: {e}")
            continue
        dt = time.perf_counter() - t0
        history = out[0] if isinstance(out, (list, tuple)) else out
        text = reply_text(out)
        with result.lock:
            result.latencies.append(dt)
            if expect in text:
                result.correct += 1
            else:
                result.wrong.append(f"session {n}: {question!r}: expected {expect!r} in {text[:120]!r}")


def start_app(archive: str | None, port: int) -> subprocess.Popen:
    cmd = [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port)]
    if archive:
        cmd += ["--archive", archive]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_ready(url: str, proc: subprocess.Popen | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"app exited: {proc.stderr.read()[-2000:] if proc.stderr else proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"app not reachable at {url} within {timeout:.0f}s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running app (loopback only); default: start app.py on a free port")
    p.add_argument("--archive", default=os.environ.get("QA_ARCHIVE"), help="archive for the started app (default: app.py's)")
    p.add_argument("--sessions", type=int, default=20, help=f"concurrent sessions (default 20, at most {MAX_SESSIONS})")
    p.add_argument("--timeout", type=float, default=600, help="seconds for the whole run (default 600)")
    args = p.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS:
        p.error(f"--sessions must be 1..{MAX_SESSIONS}")
    proc = None
    if args.url:
        host = urllib.parse.urlparse(args.url).hostname
        if host not in LOOPBACK:
            p.error(f"--url must be on this machine (127.0.0.1), not {host}")
        url = args.url
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}/"
        proc = start_app(args.archive, port)
    try:
        wait_ready(url, proc, timeout=300)
        # one question first, so the model is loaded before the clock starts
        session(0, url, Result(), time.monotonic() + 300)
        result = Result()
        t0 = time.monotonic()
        deadline = t0 + args.timeout
        with ThreadPoolExecutor(max_workers=args.sessions) as pool:
            futures = [pool.submit(session, i, url, result, deadline) for i in range(args.sessions)]
            _, pending = wait(futures, timeout=args.timeout + 30)
            for _ in pending:
                result.errors.append("session did not finish within the timeout")
            for f in futures:
                f.cancel()
        wall = time.monotonic() - t0
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    asked = sum(len(CONVERSATIONS[i % len(CONVERSATIONS)]) for i in range(args.sessions))
    lat = result.latencies
    print(f"sessions {args.sessions}, questions {asked}, replies {len(lat)}, wall {wall:.1f}s")
    print(f"reply time p50 {percentile(lat, 50):.2f}s, p95 {percentile(lat, 95):.2f}s, max {max(lat, default=float('nan')):.2f}s")
    print(f"correct {result.correct}/{asked}, wrong {len(result.wrong)}, errors {len(result.errors)}")
    for line in result.wrong[:10] + result.errors[:10]:
        print("  " + line)
    return 0 if result.correct == asked and not result.errors else 1


if __name__ == "__main__":
    sys.exit(main())
