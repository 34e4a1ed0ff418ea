"""`kill -9` in the middle of `qa index`, then a re-run: the store ends as a clean build would
leave it, and questions asked in between still get consistent answers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import qa
from index import build_index
from index.store import all_rows, open_collection, open_sentences
from qa.config import PROJECT_DIR, Settings
from tests.conftest import copy_articles

BBC = PROJECT_DIR.parent / "shared" / "corpora" / "bbc"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The five articles and 25 BBC articles: enough for indexing to take a few seconds."""
    if not BBC.is_dir():
        pytest.skip(f"{BBC} is not here")
    folder = copy_articles(tmp_path_factory.mktemp("crash") / "articles")
    for f in sorted(BBC.glob("*.txt"))[:25]:
        shutil.copy(f, folder / f.name)
    return folder


@pytest.fixture(scope="module")
def clean(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], set[str]]:
    """The chunk and sentence IDs of a build that was never interrupted."""
    settings = Settings(articles=corpus, store=tmp_path_factory.mktemp("clean") / "store")
    build_index(settings)
    return _ids(settings), {i for i, _ in all_rows(open_sentences(settings), include=[])}


def _ids(settings: Settings) -> set[str]:
    return {row_id for row_id, _ in all_rows(open_collection(settings), include=[])}


def _qa_index(store: Path, articles: Path) -> subprocess.Popen[bytes]:
    qa_bin = Path(sys.executable).parent / "qa"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([str(qa_bin), "index", "--articles", str(articles), "--store", str(store)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


@pytest.mark.parametrize("delay", [1.5, 3.0, 4.5])
def test_kill_9_then_rerun_gives_the_clean_store(corpus: Path, clean: tuple[set[str], set[str]], tmp_path: Path,
                                                  delay: float) -> None:
    clean_ids, clean_sentences = clean
    store = tmp_path / "store"
    proc = _qa_index(store, corpus)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    settings = Settings(articles=corpus, store=store)
    try:  # whatever the crash left must answer consistently, or say how to rebuild
        answer = qa.load(settings=settings, build=False).ask("When did Russia lift the ban on tourist flights?")
        for c in answer.citations:
            assert (corpus / c.source).read_text(encoding="utf-8")[c.start : c.end] == c.quote
    except qa.QAError as e:
        assert "qa index" in str(e)

    rerun = _qa_index(store, corpus)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err.decode()
    ids = _ids(settings)
    assert ids == clean_ids  # same IDs, same count, so no duplicates
    assert open_collection(settings).count() == len(clean_ids)
    assert {i for i, _ in all_rows(open_sentences(settings), include=[])} == clean_sentences
