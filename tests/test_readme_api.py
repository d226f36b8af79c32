"""The README's Python API example runs as written: on a fresh archive (where the paths
it names do not exist and nothing can be found) and on the sample archive."""

from __future__ import annotations

import re
import shutil

import pytest


@pytest.fixture(scope="module")
def readme_api_code(repo_root) -> str:
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python API\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README: no python block under ## Python API"
    return match.group(1)


def _run(code: str, cwd, monkeypatch) -> None:
    monkeypatch.chdir(cwd)
    exec(compile(code, "README.md (Python API)", "exec"), {"__name__": "readme_example"})


def test_the_example_runs_on_a_fresh_archive(readme_api_code, tmp_path, monkeypatch, capsys, encoder):
    _run(readme_api_code, tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert "no such file or directory" in out  # pages/ and more.jsonl are reported, not raised
    assert "1 chunks removed" in out or "chunks removed" in out
    assert (tmp_path / "my_archive").is_dir()


def test_the_example_runs_on_the_sample_archive(readme_api_code, sample_archive_dir, tmp_path, monkeypatch, capsys):
    shutil.copytree(sample_archive_dir, tmp_path / "my_archive")
    _run(readme_api_code, tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert "答：" in out and "党建引领激活乡村振兴" in out  # found, with the Zhouzhuang article cited
    assert "chunks removed" in out
