"""`qa` starts without its heavy libraries: the package imports its API on first use, so
`qa --help` (and the start of every command) loads neither numpy, FAISS nor torch."""

from __future__ import annotations

import json
import subprocess
import sys


def _modules_after(code: str, repo_root) -> dict[str, bool]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in "
    probe += "('numpy', 'faiss', 'torch', 'sentence_transformers', 'gradio', 'jieba')}))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=repo_root, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_cli_module_imports_no_heavy_library(repo_root):
    loaded = _modules_after("import qa.cli\nqa.cli.build_parser()", repo_root)
    assert not any(loaded.values()), loaded


def test_the_public_names_still_import_from_the_package(repo_root):
    import qa

    for name in qa.__all__:
        assert getattr(qa, name).__name__ == name
    assert "Archive" in dir(qa)
    loaded = _modules_after("from qa import Answer, QAError", repo_root)
    assert not loaded["faiss"] and not loaded["torch"], loaded  # records and errors need no index
