#!/usr/bin/env python3
"""Set everything up, then run the app or the tests. Needs only Python >= 3.10.

    python3 scripts/dev.py run  [app.py flags]     # venv + install + `python app.py`
    python3 scripts/dev.py test [pytest args]      # venv + install + Chromium + wheel-check + pytest
    python3 scripts/dev.py wheel-check             # build the wheel, install it outside the checkout, ask

Steps are skipped when already done (a stamp file records the installed pyproject).
torch is installed first as the CPU build `torch==2.13.0`: an unpinned torch would pull a
multi-GB CUDA build. Where plain `pip install torch==2.13.0` brings a CUDA build, set
`QA_TORCH_INDEX=https://download.pytorch.org/whl/cpu` (PyTorch's CPU wheel index).
Chromium and CJK fonts for the browser tests come from Debian (apt-get, as root);
Playwright never downloads a browser.

wheel-check (part of `test`; `QA_SKIP_WHEEL_CHECK=1` skips it): builds the wheel, installs it
into a venv of its own (torch first), and from an empty directory outside the checkout, with
no PYTHONPATH, creates the bundled sample archive, runs `qa ask` on it and `qa serve --help`.
It fails when the build prints a setuptools deprecation warning, when `qa` would be imported
from the source tree, or when the wheel lacks the sample or the web app. Its venv (in
`$QA_WHEEL_CHECK_DIR`, default `<tmp>/archive-qa-wheel-check`) is made afresh whenever the
dependencies in pyproject.toml, the torch pin or Python change (`QA_WHEEL_CHECK_FRESH=1`:
always); otherwise the freshly built wheel replaces the previous one there and `pip check`
verifies its declared dependencies.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("QA_VENV", ROOT / ".venv"))
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
TORCH = os.environ.get("QA_TORCH", "torch==2.13.0")
TORCH_INDEX = os.environ.get("QA_TORCH_INDEX")  # e.g. https://download.pytorch.org/whl/cpu
SAMPLE_QUESTION = "周庄镇2021年累计完成税收多少？"
SAMPLE_ANSWER = "1334万元"


def torch_install_args() -> list[str]:
    return [TORCH, "--index-url", TORCH_INDEX] if TORCH_INDEX else [TORCH]


def sh(*cmd: str | Path, **kw) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def setup(extras: str) -> None:
    if not PY.exists():
        sh(sys.executable, "-m", "venv", VENV)
    stamp = VENV / f".archive-qa-{extras or 'base'}"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + TORCH.encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return
    sh(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
    sh(PY, "-m", "pip", "install", "-q", *torch_install_args())
    sh(PY, "-m", "pip", "install", "-q", "-e", f"{ROOT}[{extras}]" if extras else str(ROOT))
    stamp.write_text(want)


def browser() -> None:
    """Debian's Chromium + Noto CJK fonts for the Playwright tests (root only)."""
    if shutil.which("chromium") and Path("/usr/share/fonts/opentype/noto").exists():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print("note: browser tests need Debian's chromium and fonts-noto-cjk "
              "(sudo apt-get install chromium fonts-noto-cjk); they will be skipped", flush=True)
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        sh("apt-get", "update", "-qq", env=env)
        sh("apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-cjk", env=env)
    except subprocess.CalledProcessError as e:  # the rest of the suite still runs
        print(f"WARNING: installing Chromium failed ({e}); the browser tests will be skipped", flush=True)


class WheelCheckError(Exception):
    pass


def _run(step: str, cmd: list, **kw) -> subprocess.CompletedProcess:
    """Run one wheel-check step; on failure, raise naming the step with the output's tail."""
    print("+", " ".join(map(str, cmd)), flush=True)
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode != 0:
        tail = "\n".join((r.stdout + r.stderr).strip().splitlines()[-25:])
        raise WheelCheckError(f"{step} failed (exit {r.returncode}):\n{tail}")
    return r


def _dependency_key() -> str:
    """What decides the check venv's contents: the [project] table, the torch pin, Python."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = text.split("[project]", 1)[-1].split("\n[", 1)[0]
    blob = "\n".join([project, TORCH, TORCH_INDEX or "", sys.version])
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def wheel_check() -> None:
    """Build the wheel, install it outside the checkout, ask the bundled sample a question."""
    work = Path(os.environ.get("QA_WHEEL_CHECK_DIR") or Path(tempfile.gettempdir()) / "archive-qa-wheel-check")
    work.mkdir(parents=True, exist_ok=True)
    dist = work / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    build_py = PY if PY.exists() else Path(sys.executable)
    r = _run("building the wheel", [build_py, "-m", "pip", "wheel", "-v", "--no-deps", "-w", dist, ROOT])
    warned = [ln.strip() for ln in (r.stdout + r.stderr).splitlines() if "Deprecat" in ln]
    if warned:
        raise WheelCheckError("the wheel build printed deprecation warnings (fix pyproject.toml):\n" + "\n".join(warned[:10]))
    wheels = sorted(dist.glob("archive_qa-*.whl"))
    if len(wheels) != 1:
        raise WheelCheckError(f"expected one archive_qa wheel in {dist}, found {[w.name for w in wheels]}")
    venv = work / f"venv-{_dependency_key()}"
    py = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    qa = venv / ("Scripts/qa.exe" if os.name == "nt" else "bin/qa")
    if os.environ.get("QA_WHEEL_CHECK_FRESH") or not (venv / ".complete").exists():
        for old in work.glob("venv-*"):
            shutil.rmtree(old, ignore_errors=True)
        _run("creating the check venv", [sys.executable, "-m", "venv", venv])
        _run("installing torch", [py, "-m", "pip", "install", "-q", *torch_install_args()])
        _run("installing the wheel", [py, "-m", "pip", "install", "-q", wheels[0]])
        (venv / ".complete").write_text(wheels[0].name)
    else:
        _run("installing the wheel", [py, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", wheels[0]])
    _run("checking installed dependencies", [py, "-m", "pip", "check"])
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=work))  # empty, outside the checkout
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "QA_ARCHIVE", "VIRTUAL_ENV")}
    env.update(QA_CACHE_DIR=str(work / "cache"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    try:
        where = _run("importing qa", [py, "-c", "import qa, qa.web; print(qa.__file__)"], cwd=run_dir, env=env).stdout.strip()
        if not Path(where).resolve().is_relative_to(venv.resolve()):
            raise WheelCheckError(f"qa was imported from {where}, not from the wheel installed in {venv}")
        _run("creating the bundled sample archive", [py, "-c", "from qa.sample import ensure_sample_archive as e; "
              "a = e('archive'); n = a.info().articles; a.close(); assert n > 500, f'sample has {n} articles'"],
             cwd=run_dir, env=env)
        out = _run("qa ask on the sample", [qa, "ask", SAMPLE_QUESTION, "--archive", "archive", "--k", "1"],
                   cwd=run_dir, env=env).stdout
        if SAMPLE_ANSWER not in out:
            raise WheelCheckError(f"qa ask on the sample did not answer {SAMPLE_ANSWER}:\n{out[-1500:]}")
        out = _run("qa serve --help", [qa, "serve", "--help"], cwd=run_dir, env=env).stdout
        if "--port" not in out:
            raise WheelCheckError(f"qa serve --help does not show the app's flags:\n{out[-1500:]}")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    print(f"wheel check ok: {wheels[0].name} installed in {venv}; qa ask answered {SAMPLE_ANSWER}", flush=True)


def run_wheel_check() -> int:
    try:
        wheel_check()
    except WheelCheckError as e:
        print(f"WHEEL CHECK FAILED: {e}", file=sys.stderr, flush=True)
        return 1
    return 0


def main(argv: list[str]) -> int:
    cmd, rest = (argv[0], argv[1:]) if argv else ("run", [])
    if cmd == "run":
        setup("")
        return subprocess.call([str(PY), str(ROOT / "app.py"), *rest], cwd=ROOT)
    if cmd == "test":
        setup("test")
        browser()
        wheel = 0 if os.environ.get("QA_SKIP_WHEEL_CHECK") else run_wheel_check()
        tests = subprocess.call([str(PY), "-m", "pytest", *rest], cwd=ROOT)
        return tests or wheel
    if cmd == "wheel-check":
        return run_wheel_check()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
