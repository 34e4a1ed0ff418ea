"""A hypothesis state machine over an articles folder: add, modify, delete, rename and copy articles
(made of real BBC sentences), re-index; after every re-index the store must be exactly what the
pipeline makes of the files present, and every chunk must be found by searching for its own text."""

from __future__ import annotations

import random
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from index import build_index
from index.encoder import default_encoder
from index.load import load_folder
from index.pipeline import chunk_records, date_articles, embed_text, parse, sentence_rows
from index.store import all_rows, open_collection, open_sentences, reopen
from qa.config import PROJECT_DIR, Settings

BBC = PROJECT_DIR.parent / "shared" / "corpora" / "bbc"
SETTINGS = settings(max_examples=5, stateful_step_count=12, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _sentences() -> list[str]:
    """Sentences of a few BBC articles, 40 to 220 characters long."""
    out: list[str] = []
    for f in sorted(BBC.glob("*.txt"))[:12]:
        for s in re.split(r"(?<=[.!?])\s+", f.read_text(encoding="utf-8")):
            s = " ".join(s.split())
            if 40 <= len(s) <= 220 and s not in out:
                out.append(s)
    return out


RUN: Counter[str] = Counter()  # rules run and rows checked, printed after the run


class Corpus(RuleBasedStateMachine):
    pool: list[str] = []

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="qa-state-"))
        self.settings = Settings(articles=self.root / "articles", store=self.root / "store")
        self.settings.articles.mkdir()
        self.made = 0

    def _names(self) -> list[str]:
        return sorted(p.relative_to(self.settings.articles).as_posix()
                      for p in self.settings.articles.rglob("*.txt"))

    def _pick(self, i: int) -> Path:
        names = self._names()
        return self.settings.articles / names[i % len(names)]

    def _article(self, seed: int, sentences: int) -> str:
        rng = random.Random(seed)
        chosen = rng.sample(self.pool, sentences)
        paragraphs = [" ".join(chosen[i : i + 3]) for i in range(1, sentences, 3)]
        return chosen[0].rstrip(".") + "\n\n" + "\n\n".join(paragraphs) + "\n"

    @initialize(seeds=st.lists(st.integers(0, 10**6), min_size=3, max_size=3))
    def start(self, seeds: list[int]) -> None:
        """Three articles to begin with, so that every rule can run from the first step."""
        for seed in seeds:
            self.add(seed, 6 + seed % 8, nested=False)

    @rule(seed=st.integers(0, 10**6), sentences=st.integers(2, 14), nested=st.booleans())
    def add(self, seed: int, sentences: int, nested: bool) -> None:
        self.made += 1
        RUN["add"] += 1
        path = self.settings.articles / ("sub" if nested else "") / f"a{self.made}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(self._article(seed, sentences), encoding="utf-8")

    @precondition(lambda self: self._names())
    @rule(i=st.integers(0, 99), seed=st.integers(0, 10**6))
    def modify(self, i: int, seed: int) -> None:
        RUN["modify"] += 1
        path = self._pick(i)
        lines = path.read_text(encoding="utf-8").split("\n\n")
        rng = random.Random(seed)
        lines.insert(rng.randrange(1, len(lines) + 1), rng.choice(self.pool))
        path.write_text("\n\n".join(lines), encoding="utf-8")

    @precondition(lambda self: self._names())
    @rule(i=st.integers(0, 99))
    def delete(self, i: int) -> None:
        RUN["delete"] += 1
        self._pick(i).unlink()

    @precondition(lambda self: self._names())
    @rule(i=st.integers(0, 99), copy=st.booleans())
    def rename(self, i: int, copy: bool) -> None:
        """Move a file to a new name, or copy it: the same text under two names."""
        RUN["copy" if copy else "rename"] += 1
        self.made += 1
        source = self._pick(i)
        (shutil.copy if copy else shutil.move)(source, self.settings.articles / f"r{self.made}.txt")

    @precondition(lambda self: self._names())
    @rule()
    def reindex(self) -> None:
        RUN["reindex"] += 1
        build_index(self.settings)
        self.check_store()

    def check_store(self) -> None:
        collection, sentences = open_collection(self.settings), open_sentences(self.settings)
        page = collection.get(include=["documents", "metadatas"])
        ids = page["ids"]
        assert len(ids) == len(set(ids)) == collection.count()
        stored = {cid: (doc, meta) for cid, doc, meta in zip(ids, page["documents"], page["metadatas"])}
        assert stored == self.expected_chunks()
        sentence_ids = [i for i, _ in all_rows(sentences, include=[])]
        assert len(sentence_ids) == len(set(sentence_ids)) == sentences.count()
        assert set(sentence_ids) == {r[0] for cid, (doc, meta) in stored.items() for r in sentence_rows(cid, doc, meta)}
        self.check_found_by_own_text(collection, stored)
        RUN["chunks checked"] += len(stored)
        RUN["sentences checked"] += len(sentence_ids)

    def expected_chunks(self) -> dict[str, tuple[str, dict]]:
        """What the pipeline's own functions make of the files present."""
        files, _, _ = load_folder(self.settings.articles)
        articles = [parse(f, self.settings.chunk_tokens) for f in files]
        date_articles(articles)
        return {cid: (text, meta) for a in articles for cid, text, meta in chunk_records(a)}

    def check_found_by_own_text(self, collection, stored: dict[str, tuple[str, dict]]) -> None:  # type: ignore[no-untyped-def]
        ids = list(stored)
        vectors = default_encoder().embed([embed_text(stored[c][1]["title"], stored[c][0]) for c in ids])
        found = collection.query(query_embeddings=[v.tolist() for v in vectors], n_results=1, include=["documents"])
        for cid, top_ids, top_docs in zip(ids, found["ids"], found["documents"]):
            assert top_ids[0] == cid or top_docs[0] == stored[cid][0], (cid, top_ids)

    def teardown(self) -> None:
        reopen(self.settings)
        shutil.rmtree(self.root, ignore_errors=True)


def test_the_store_always_matches_the_files_present() -> None:
    if not BBC.is_dir():
        pytest.skip(f"{BBC} is not here")
    Corpus.pool = _sentences()
    print(f"hypothesis settings: {SETTINGS}")
    RUN.clear()
    run_state_machine_as_test(Corpus, settings=SETTINGS)
    print(f"ran: {dict(RUN)}")
    assert RUN["reindex"] >= 5 and RUN["rename"] and RUN["copy"] and RUN["delete"] and RUN["modify"]
