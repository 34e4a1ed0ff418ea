"""The README's Python examples run as printed and print what their comments say."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from qa.config import PROJECT_DIR, Settings

README = PROJECT_DIR / "README.md"


def python_example(marker: str) -> str:
    """The README's one ```python block containing `marker`."""
    [block] = [b for b in re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S) if marker in b]
    return block


def run_example(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_DIR), "HF_HUB_OFFLINE": "1", **env})


def test_the_python_api_example_runs_as_printed(settings: Settings, tmp_path: Path) -> None:
    store = shutil.copytree(settings.store, tmp_path / "store")  # built over the same five articles
    run = run_example(python_example("engine.stream("), QA_STORE=str(store))
    assert run.returncode == 0, run.stderr
    assert "On June 30, Russia lifted a ban on tourist flights to Turkey" in run.stdout
    assert "001_1dfbcbbfd773fe7a.txt 2016-08-09" in run.stdout  # a citation: id, source, date, offsets, quote
    assert "Answer(text=" in run.stdout  # the stream ends with the final Answer


def test_the_llamaindex_example_runs_as_printed(settings: Settings, tmp_path: Path) -> None:
    store = shutil.copytree(settings.store, tmp_path / "store")
    run = run_example(python_example("as_query_engine()"), QA_STORE=str(store))
    assert run.returncode == 0, run.stderr
    assert "On June 30, Russia lifted a ban on tourist flights to Turkey" in run.stdout
    assert "1 001_1dfbcbbfd773fe7a.txt 1801 1919" in run.stdout  # citation [1]: source and offsets
    assert "001_1dfbcbbfd773fe7a.txt 2016-08-09 2010" in run.stdout  # a retrieved chunk: source, date, start
    assert "How did Ankara respond to that? (Putin criticise Kyiv)" in run.stdout
