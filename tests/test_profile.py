"""Index profiles: `qa index --fast` builds a store that every later run and the query side read as fast,
without being told; asking an existing store for another profile says to re-index and changes nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np

import qa
from index.encoder import default_encoder
from index.pipeline import sentence_rows
from index.store import open_collection, open_sentences
from qa.config import Settings

QUESTION = "When did Russia lift the ban on tourist flights to Turkey?"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True, timeout=300)


def where(s: Settings) -> list[str]:
    return ["--articles", str(s.articles), "--store", str(s.store)]


def test_a_fast_store_is_answered_and_updated_as_fast_without_being_told(fresh: Settings) -> None:
    built = run("index", "--fast", *where(fresh))
    assert built.returncode == 0, built.stderr
    assert built.stdout.splitlines()[0].endswith("; fast profile"), built.stdout

    engine = qa.load(articles=fresh.articles, store=fresh.store)  # no profile asked for: the store's
    assert (engine.settings.profile, engine.settings.encoder, engine.settings.sentence_vectors) == (
        "fast", "onnx-int8", "pooled")
    answer = engine.ask(QUESTION)
    assert not answer.abstained and "June 30" in answer.text
    for c in answer.citations:
        assert (fresh.articles / c.source).read_text(encoding="utf-8")[c.start:c.end] == c.quote

    # The stored sentence vectors come from their chunk's pass, not from encoding each sentence alone.
    chunks = open_collection(engine.settings).get(limit=3, include=["documents", "metadatas"])
    texts = dict(row for cid, doc, meta in zip(chunks["ids"], chunks["documents"], chunks["metadatas"])
                 for row in sentence_rows(cid, doc, meta))
    rows = open_sentences(engine.settings).get(ids=list(texts), include=["embeddings"])
    alone = default_encoder("onnx-int8", fresh.cache).embed([texts[row] for row in rows["ids"]])
    cosines = np.sum(np.asarray(rows["embeddings"]) * alone, axis=1)
    assert np.median(cosines) < 0.99, cosines

    shutil.copy(fresh.articles / "001_1dfbcbbfd773fe7a.txt", fresh.articles / "005_copy.txt")
    later = run("index", *where(fresh))  # no --fast: the store stays fast
    assert later.returncode == 0, later.stderr
    assert later.stdout.startswith("added 1,") and later.stdout.splitlines()[0].endswith("; fast profile"), later.stdout


def test_asking_a_built_store_for_another_profile_says_to_rebuild_and_changes_nothing(fresh: Settings) -> None:
    assert run("index", *where(fresh)).returncode == 0
    chunks = open_collection(fresh).count()

    refused = run("index", "--fast", *where(fresh))
    assert refused.returncode == 2
    assert "built with the accurate profile" in refused.stderr and "qa index --rebuild --fast" in refused.stderr
    assert open_collection(fresh).count() == chunks and qa.load(settings=fresh).settings.profile is None

    rebuilt = run("index", "--rebuild", "--fast", *where(fresh))
    assert rebuilt.returncode == 0 and rebuilt.stdout.startswith("added 5,"), rebuilt.stdout + rebuilt.stderr
    assert qa.load(settings=fresh).settings.encoder == "onnx-int8"
