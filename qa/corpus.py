"""Corpus: what the query side knows about every stored chunk, cached in the store folder.

The chunk IDs in the collection's order, a BM25 index of the chunks (row i is ids[i]), how rare
each word is, and the list of articles. Building them reads every chunk (minutes at 100,000
chunks); loading them reads a few files. The cache is keyed by a hash of the stored chunk IDs, so a
store changed behind our back (a `qa index` on another machine in server mode) is rebuilt; `qa
index` drops it before it writes and saves a fresh one after.

    corpus = open_corpus(settings, collection)
    corpus.ids[row], corpus.lexical.search("coup attempt", 8), corpus.rarity.idf("coup"), corpus.articles
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.lexical import Lexical, bm25_text
from qa.terms import Rarity

FORMAT = "1"  # what the cache files mean; a new value makes every old cache stale
_PAGE = 5000  # chunks per Chroma read


@dataclass
class Corpus:
    """Every stored chunk's ID, and what is computed over all of them."""

    key: str  # hash of FORMAT and the IDs, in order
    ids: list[str]
    lexical: Lexical | None  # None when the store has no chunks
    rarity: Rarity
    articles: list[dict[str, str]]  # source, title, outlet, date; newest first

    @property
    def stats(self) -> dict[str, int]:
        return {"articles": len(self.articles), "chunks": len(self.ids)}


def open_corpus(settings: Settings, collection: Any) -> Corpus:
    """The cached corpus of the stored chunks, rebuilt (and saved, when the store is writable) if stale."""
    ids = stored_ids(collection)
    folder = cache_dir(settings) / key_of(ids)
    try:
        return _load(folder, ids)
    except (OSError, ValueError, KeyError):
        pass  # no cache yet, a partial one, or another format: build it
    corpus = build_corpus(collection)
    save(corpus, cache_dir(settings))
    return corpus


def refresh(settings: Settings, collection: Any) -> Corpus:
    """After `qa index` changed the store: a fresh corpus, saved for the next engine to load."""
    forget(settings)
    return open_corpus(settings, collection)


def forget(settings: Settings) -> None:
    """Drop the cache (before a write whose metadata changes the IDs would not show)."""
    shutil.rmtree(cache_dir(settings), ignore_errors=True)


def cache_dir(settings: Settings) -> Path:
    return settings.store / "query-cache"


def stored_ids(collection: Any) -> list[str]:
    ids: list[str] = []
    while page := collection.get(include=[], limit=_PAGE, offset=len(ids))["ids"]:
        ids.extend(page)
    return ids


def key_of(ids: list[str]) -> str:
    """Example: key_of(["a", "b"]) != key_of(["b", "a"]) (BM25 rows follow the IDs' order)."""
    return hashlib.sha256("\n".join([FORMAT, *ids]).encode()).hexdigest()[:32]


def build_corpus(collection: Any) -> Corpus:
    """Read every chunk once: BM25 over metadata and text, rarity over text, one entry per article."""
    ids: list[str] = []
    texts: list[str] = []
    words: list[str] = []
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
            if "source" in meta:
                articles.setdefault(meta["source"], {k: str(meta.get(k, "")) for k in ("source", "title", "outlet",
                                                                                        "date")})
    newest = sorted(articles.values(), key=lambda a: (a["date"], a["source"]), reverse=True)
    return Corpus(key_of(ids), ids, Lexical.build(texts) if texts else None, Rarity(words), newest)


def save(corpus: Corpus, root: Path) -> None:
    """Write the corpus under root/<key>, atomically (a folder renamed into place); skip a read-only store."""
    tmp = root / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir(parents=True)
        if corpus.lexical is not None:
            corpus.lexical.save(tmp / "bm25")
        (tmp / "rarity.json").write_text(json.dumps({"n": corpus.rarity.n, "df": corpus.rarity.df}))
        (tmp / "articles.json").write_text(json.dumps(corpus.articles, ensure_ascii=False))
        tmp.rename(root / corpus.key)
    except OSError:
        pass  # read-only store, or another process saved the same key first: the next load builds or reads it
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in root.glob("*") if root.is_dir() else []:
        if old.name != corpus.key and not old.name.startswith(".tmp-"):
            shutil.rmtree(old, ignore_errors=True)


def _load(folder: Path, ids: list[str]) -> Corpus:
    rarity = json.loads((folder / "rarity.json").read_text())
    articles = json.loads((folder / "articles.json").read_text())
    lexical = Lexical.load(folder / "bm25") if ids else None
    if lexical is not None and lexical.rows != len(ids):
        raise ValueError(f"the BM25 index has {lexical.rows} rows for {len(ids)} chunks")
    return Corpus(folder.name, ids, lexical, Rarity.from_counts(rarity["df"], rarity["n"]), articles)
