"""The `qa` command, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

from qa.config import Settings


def qa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True, timeout=300)


def test_index_twice_reports_nothing_to_do(fresh: Settings) -> None:
    paths = ["--articles", str(fresh.articles), "--store", str(fresh.store)]
    first = qa("index", *paths)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("added 5, updated 0, removed 0, kept 0")
    second = qa("index", *paths)
    assert second.stdout.startswith("added 0, updated 0, removed 0, kept 5"), second.stdout
    asked = qa("ask", "--json", "When did Russia lift the ban on tourist flights to Turkey?", *paths)
    answer = json.loads(asked.stdout)
    assert answer["mode"] == "extractive" and not answer["abstained"]
    assert {"id", "source", "quote", "start", "end", "title", "date"} <= set(answer["citations"][0])
    plain = qa("ask", "When did Russia lift the ban on tourist flights to Turkey?", *paths)
    assert "June 30" in plain.stdout and "Sources:" in plain.stdout and "[1] 001_1dfbcbbfd773fe7a.txt" in plain.stdout


def test_errors_are_one_line_of_advice(tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = qa("ask", "anything?", "--articles", str(tmp_path / "none"), "--store", str(tmp_path / "s"))
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr and "--articles" in missing.stderr


def test_a_large_first_run_names_twenty_files_and_counts_the_rest(tmp_path) -> None:  # type: ignore[no-untyped-def]
    articles = tmp_path / "articles"
    articles.mkdir()
    for i in range(23):
        (articles / f"note-{i:02d}.txt").write_text(f"Note {i}\n\nThe office moved to floor {i} on May {i + 1}.\n")
    done = qa("index", "--articles", str(articles), "--store", str(tmp_path / "store"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("added 23,")
    assert lines[1:] == [*(f"  added: note-{i:02d}.txt" for i in range(20)), "  added: ... and 3 more"]
