#!/usr/bin/env python3
"""Set everything up, then run the app or the tests. Needs only Python >= 3.10.

    python3 scripts/dev.py run  [app.py flags]     # venv + install + `python app.py`
    python3 scripts/dev.py test [pytest args]      # venv + install + Chromium + pytest

Steps are skipped when already done (a stamp file records the installed pyproject).
torch is installed first as the CPU build `torch==2.13.0`: an unpinned torch would pull a
multi-GB CUDA build. Chromium and CJK fonts for the browser tests come from Debian
(apt-get, as root); Playwright never downloads a browser.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("QA_VENV", ROOT / ".venv"))
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
TORCH = os.environ.get("QA_TORCH", "torch==2.13.0")


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
    sh(PY, "-m", "pip", "install", "-q", TORCH)
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


def main(argv: list[str]) -> int:
    cmd, rest = (argv[0], argv[1:]) if argv else ("run", [])
    if cmd == "run":
        setup("")
        return subprocess.call([str(PY), str(ROOT / "app.py"), *rest], cwd=ROOT)
    if cmd == "test":
        setup("test")
        browser()
        return subprocess.call([str(PY), "-m", "pytest", *rest], cwd=ROOT)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
