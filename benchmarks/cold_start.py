"""Where the seconds of a cold `qa ask` go: imports, model load, archive open, first query.

Every figure comes from a fresh Python process (nothing warm but the OS file cache), in
one run, so the cold `qa ask` can be read next to `python -c "import torch"` measured
under the same load. Each command runs `--rounds` times, alternating, and the median is
reported. The stage breakdown runs the same steps `qa ask` takes, timed one by one in
one process.

    python benchmarks/cold_start.py [--archive DIR] [--rounds 3]

Without --archive, a copy of the bundled sample archive is made in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "周庄镇2021年累计完成税收多少？"

# One process, the steps of `qa ask` one at a time: prints {"stage": seconds, ...} as JSON.
STAGES = r"""
import json, sys, time
t = time.perf_counter(); out = {}
def lap(name):
    global t
    now = time.perf_counter(); out[name] = now - t; t = now
import qa.cli; lap("import qa.cli")
import qa.embeddings; lap("import qa.embeddings (sets OMP_WAIT_POLICY first)")
import torch; lap("import torch")
import sentence_transformers; lap("import sentence_transformers")
from qa.embeddings import load_encoder; enc = load_encoder(); lap("model load")
from qa import Archive; a = Archive.open(sys.argv[1], create=False); a.info(); lap("archive open")
a.search("周庄镇", k=1, mode="keyword"); lap("first keyword search (index, jieba)")
ans = a.ask(sys.argv[2]); assert ans.found, ans; lap("first ask")
ans = a.ask(sys.argv[2] + " "); lap("second ask")
print(json.dumps(out))
"""

# What loading the same model without sentence-transformers would cost (transformers only:
# tokenizer + BertModel, mean pooling): a measurement for the encoder, not what qa does.
WITHOUT_ST = r"""
import json, sys, time
t = time.perf_counter(); out = {}
def lap(name):
    global t
    now = time.perf_counter(); out[name] = now - t; t = now
from qa.embeddings import materialise_default_model; path = materialise_default_model(); lap("materialise (cached)")
import torch; lap("import torch")
from transformers import AutoModel, AutoTokenizer; lap("import transformers AutoModel")
tok = AutoTokenizer.from_pretrained(path); model = AutoModel.from_pretrained(path).eval(); lap("model load")
with torch.inference_mode():
    enc = tok(["query: " + sys.argv[1]], return_tensors="pt")
    h = model(**enc).last_hidden_state; v = (h * enc["attention_mask"][..., None]).sum(1) / enc["attention_mask"].sum(1)
lap("first encode")
print(json.dumps(out))
"""


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    secs = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return secs, done.stdout


def sample_copy(tmp: Path) -> Path:
    from qa.sample import ensure_sample_archive

    d = tmp / "archive"
    ensure_sample_archive(d).close()
    return d


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archive", help="archive to ask (default: a temporary copy of the sample)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    py = sys.executable
    qa_bin = str(Path(py).with_name("qa"))
    with tempfile.TemporaryDirectory() as tmp:
        archive = args.archive or str(sample_copy(Path(tmp)))
        commands = {
            'python -c "pass"': [py, "-c", "pass"],
            'python -c "import torch"': [py, "-c", "import torch"],
            'python -c "import qa.cli"': [py, "-c", "import qa.cli"],
            "qa --help": [qa_bin, "--help"],
            "qa ask (cold, hybrid)": [qa_bin, "ask", QUESTION, "--archive", archive, "--k", "3"],
            "qa ask --mode keyword": [qa_bin, "ask", QUESTION, "--archive", archive, "--k", "3", "--mode", "keyword"],
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        stages: list[dict[str, float]] = []
        without_st: list[dict[str, float]] = []
        run(commands["qa ask (cold, hybrid)"], env)  # materialise the model and warm the file cache once
        for _ in range(args.rounds):
            for name, cmd in commands.items():
                times[name].append(run(cmd, env)[0])
            stages.append(json.loads(run([py, "-c", STAGES, archive, QUESTION], env)[1].strip().splitlines()[-1]))
            without_st.append(json.loads(run([py, "-c", WITHOUT_ST, QUESTION], env)[1].strip().splitlines()[-1]))
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"] * 3
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"load average {' '.join(load)}; median of {args.rounds} fresh processes each\n")
    width = max(map(len, times))
    for name, ts in times.items():
        print(f"{name:<{width}}  {statistics.median(ts):6.2f} s   ({', '.join(f'{t:.2f}' for t in ts)})")
    print("\nstages of a cold ask, one process (median seconds):")
    for key in stages[0]:
        print(f"  {key:<48} {statistics.median(s[key] for s in stages):6.2f}")
    print(f"  {'total':<48} {statistics.median(sum(s.values()) - s['second ask'] for s in stages):6.2f}")
    print("\nthe same model through transformers alone (no sentence-transformers), one process:")
    for key in without_st[0]:
        print(f"  {key:<48} {statistics.median(s[key] for s in without_st):6.2f}")
    print(f"  {'total':<48} {statistics.median(sum(s.values()) for s in without_st):6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
