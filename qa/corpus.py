"""Corpus: what the query side knows about every stored chunk, cached in the store folder.

The chunk IDs in the collection's order, a BM25 index of the chunks (row i is ids[i]), their
sentence vectors, how rare each word is, and the list of articles. Building them reads every chunk
and sentence (minutes at 100,000 chunks); loading them reads a few files and maps the big ones.
The cache is keyed by a hash of the stored chunk IDs, so a store changed behind our back (a `qa
index` on another machine, in server mode) is rebuilt; `qa index` drops it before it writes and
saves a fresh one after.

    corpus = open_corpus(settings, collection, sentences)
    corpus.ids[row], corpus.lexical.search("coup attempt", 8), corpus.rarity.idf("coup"), corpus.articles
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.lexical import Lexical, bm25_text
from qa.terms import Rarity
from qa.vectors import SentenceVectors

FORMAT = "4"  # what the cache files mean; a new value makes every old cache stale
_PAGE = 20_000  # chunks per Chroma read, with their text and metadata
_ID_PAGE = 200_000  # chunk IDs per Chroma read


@dataclass
class Corpus:
    """Every stored chunk's ID, and what is computed over all of them."""

    key: str  # hash of FORMAT and the IDs, in order
    ids: list[str]
    lexical: Lexical | None  # None when the store has no chunks
    rarity: Rarity
    articles: list[dict[str, str]]  # source, title, outlet, date; newest first
    sentences: SentenceVectors
    row_of: dict[str, int] = field(init=False, repr=False)  # chunk ID -> its row

    def __post_init__(self) -> None:
        self.row_of = {cid: row for row, cid in enumerate(self.ids)}

    @property
    def stats(self) -> dict[str, int]:
        return {"articles": len(self.articles), "chunks": len(self.ids)}


def open_corpus(settings: Settings, collection: Any, sentences: Any) -> Corpus:
    """The cached corpus of the stored chunks, rebuilt (and saved, when the store is writable) if stale."""
    ids = stored_ids(collection)
    folder = cache_dir(settings) / key_of(ids)
    try:
        return _load(folder, ids)
    except Exception:  # noqa: BLE001 - no cache yet, or one unreadable in any way: it is derived data, rebuild it
        shutil.rmtree(folder, ignore_errors=True)
    corpus = build_corpus(collection, sentences)
    if save(corpus, cache_dir(settings)):
        try:  # the saved copy: its sentence vectors are read from disk, not held in memory
            return _load(cache_dir(settings) / corpus.key, corpus.ids)
        except Exception:  # noqa: BLE001 - removed meanwhile by a writer's `forget`: keep the built one
            pass
    return corpus


def refresh(settings: Settings, collection: Any, sentences: Any) -> Corpus:
    """After `qa index` changed the store: a fresh corpus, saved for the next engine to load."""
    forget(settings)
    return open_corpus(settings, collection, sentences)


def forget(settings: Settings) -> None:
    """Drop the cache (before a write whose metadata changes the IDs would not show)."""
    shutil.rmtree(cache_dir(settings), ignore_errors=True)


def cache_dir(settings: Settings) -> Path:
    return settings.store / "query-cache"


def stored_ids(collection: Any) -> list[str]:
    ids: list[str] = []  # in large pages: each Chroma page with an offset rescans the rows before it
    while page := collection.get(include=[], limit=_ID_PAGE, offset=len(ids))["ids"]:
        ids.extend(page)
    return ids


def key_of(ids: list[str]) -> str:
    """Example: key_of(["a", "b"]) != key_of(["b", "a"]) (BM25 rows follow the IDs' order)."""
    return hashlib.sha256("\n".join([FORMAT, *ids]).encode()).hexdigest()[:32]


def build_corpus(collection: Any, sentences: Any) -> Corpus:
    """Read every chunk once: BM25 over metadata and text, rarity over text, one entry per article;
    then every sentence vector."""
    ids: list[str] = []
    texts: list[str] = []
    words: list[str] = []
    counts: list[int] = []  # sentences per chunk
    articles: dict[str, dict[str, str]] = {}
    while True:
        page = collection.get(include=["documents", "metadatas"], limit=_PAGE, offset=len(ids))
        if not page["ids"]:
            break
        for cid, doc, meta in zip(page["ids"], page["documents"], page["metadatas"]):
            meta = {k: v for k, v in (meta or {}).items() if not k.startswith("_")}
            ids.append(cid)
            texts.append(bm25_text(doc or "", meta))
            words.append(doc or "")
            counts.append(len(json.loads(meta.get("sentences", "[]"))))
            if "source" in meta:
                articles.setdefault(meta["source"], {k: str(meta.get(k, "")) for k in ("source", "title", "outlet",
                                                                                        "date")})
    newest = sorted(articles.values(), key=lambda a: (a["date"], a["source"]), reverse=True)
    lexical = Lexical.build(texts) if texts else None
    return Corpus(key_of(ids), ids, lexical, Rarity(words), newest, SentenceVectors.build(sentences, ids, counts))


def save(corpus: Corpus, root: Path) -> bool:
    """Write the corpus under root/<key>, atomically (a folder renamed into place); False if it could not be
    (a read-only store, or another process saved the same key first)."""
    tmp = root / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir(parents=True)
        if corpus.lexical is not None:
            corpus.lexical.save(tmp / "bm25")
        (tmp / "rarity.json").write_text(json.dumps({"n": corpus.rarity.n, "df": corpus.rarity.df}))
        (tmp / "articles.json").write_text(json.dumps(corpus.articles, ensure_ascii=False))
        corpus.sentences.save(tmp)
        tmp.rename(root / corpus.key)
    except OSError:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in root.glob("*"):
        if old.name != corpus.key and not old.name.startswith(".tmp-"):
            shutil.rmtree(old, ignore_errors=True)
    return True


def _load(folder: Path, ids: list[str]) -> Corpus:
    rarity = json.loads((folder / "rarity.json").read_text())
    articles = json.loads((folder / "articles.json").read_text())
    lexical = Lexical.load(folder / "bm25") if ids else None
    if lexical is not None and lexical.rows != len(ids):
        raise ValueError(f"the BM25 index has {lexical.rows} rows for {len(ids)} chunks")
    vectors = SentenceVectors.load(folder)
    if len(vectors.first) != len(ids) + 1:
        raise ValueError(f"sentence rows for {len(vectors.first) - 1} chunks, not {len(ids)}")
    return Corpus(folder.name, ids, lexical, Rarity.from_counts(rarity["df"], rarity["n"]), articles, vectors)
