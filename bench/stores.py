"""The benchmark's scale stores, built once and cached: the BBC corpus, and 100,000 chunks cut from it.

    python -m bench.stores --cache /work/cache     # builds CACHE/store-bbc and CACHE/store-100k

The 100,000-chunk store: the BBC corpus chunked several ways (at most 200, 128, 96, 64, 48 and 32
word pieces per chunk), each way a copy of the corpus in its own folder (`articles-100k/c200/...`),
so every citation resolves to a real file; the last way takes files in name order until the store
holds TARGET_CHUNKS. Chunks come from the product's own functions (`index.pipeline.parse`,
`date_articles`, `chunk_records`, `sentence_rows`, `embed_text`) and go into the product's store
(`index.store`), chunks and sentences, with real all-MiniLM-L6-v2 vectors; a text embedded once
(a sentence repeated across the copies) is not embedded again. Each store folder gets `READY`
(JSON: chunk count, how it was built) when complete, and is reused while its recipe hash matches.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.encoders import Encoder, fastest
from index.store import writer_lock
from qa.config import PROJECT_DIR, Settings

CHUNK_SIZES = (200, 128, 96, 64, 48, 32)
TARGET_CHUNKS = 100_000
RECIPE_VERSION = 1
BBC = PROJECT_DIR.parent / "shared" / "corpora" / "bbc"
DEFAULT_CACHE = Path.home() / ".cache" / "news-qa-bench"


class TextVectors:
    """Vectors by text: each distinct text is embedded once, then looked up (kept on disk between runs)."""

    def __init__(self, encoder: Encoder, path: Path | None = None) -> None:
        self.encoder, self.path = encoder, path
        self.rows: dict[str, np.ndarray] = {}
        self.embedded = self.tokens_seen = 0
        if path and path.exists():
            with np.load(path) as saved:
                self.rows = dict(zip(saved["keys"].tolist(), saved["vectors"]))

    def get(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) vectors; texts not seen before are embedded, in one call."""
        keys = [_key(t) for t in texts]
        todo = {k: t for k, t in zip(keys, texts) if k not in self.rows}
        if todo:
            for k, v in zip(todo, self.encoder.embed(list(todo.values()))):
                self.rows[k] = np.asarray(v, dtype=np.float32)
            self.embedded += len(todo)
        return np.stack([self.rows[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)

    def seed(self, chunks: Any, sentences: Any) -> None:
        """Take the vectors a store already holds: chunks by their embedded text, sentences by theirs (read from
        their chunk: sentence rows hold no text)."""
        from index.pipeline import embed_text, sentence_rows

        texts: dict[str, str] = {}
        for page in _pages(chunks, ["documents", "metadatas", "embeddings"]):
            for cid, doc, meta, vector in zip(page["ids"], page["documents"], page["metadatas"], page["embeddings"]):
                self.rows.setdefault(_key(embed_text(meta["title"], doc)), np.asarray(vector, dtype=np.float32))
                texts.update(sentence_rows(cid, doc, meta))
        for page in _pages(sentences, ["embeddings"]):
            for row_id, vector in zip(page["ids"], page["embeddings"]):
                if row_id in texts:
                    self.rows.setdefault(_key(texts[row_id]), np.asarray(vector, dtype=np.float32))

    def save(self) -> None:
        if not self.path:
            return
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(self.rows)), vectors=np.stack(list(self.rows.values())))
        tmp.replace(self.path)


def _pages(collection: Any, include: list[str], size: int = 5000) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        page = collection.get(include=include, limit=size, offset=offset)
        if not page["ids"]:
            return
        yield page
        offset += len(page["ids"])


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclasses.dataclass
class Built:
    """A scale store and what is in it."""

    store: Path
    articles: Path
    chunks: int
    sentences: int
    seconds: float  # to build it (in the run that built it)
    reused: bool  # found complete in the cache
    how: str
    encoder: str


def ensure_bbc(cache: Path, corpus: Path = BBC, vectors: TextVectors | None = None, log: Any = print) -> Built:
    """CACHE/store-bbc: the BBC corpus as `qa index` would store it (checked by running it)."""
    files = _load(corpus)
    recipe = {"kind": "bbc", "corpus": _corpus_hash(files), **_common()}
    store = cache / "store-bbc"
    done = _ready(store, recipe)
    if done:
        return done
    start = time.perf_counter()
    settings = Settings().with_paths(corpus, store)
    vectors = vectors or _vectors(cache, files)
    with writer_lock(settings):  # one builder at a time; `qa index` waits for it too
        _prepare(store, recipe)
        _write(settings, _parse(files, settings.chunk_tokens, log), vectors, log)
    from index import build_index

    check = build_index(settings)  # the product finds nothing to do: the store is what `qa index` builds
    if check.changed or check.chunks_embedded:
        raise RuntimeError(f"qa index would change {store}: {check}")
    how = (f"`qa index` layout of {len(files)} BBC articles ({corpus}), chunks of at most "
           f"{settings.chunk_tokens} word pieces, written by bench/stores.py with {vectors.encoder.name}; "
           "`build_index` run on it afterwards found nothing to embed or change")
    return _finish(store, corpus, recipe, how, vectors, start)


def cached_100k(cache: Path, corpus: Path = BBC, target: int = TARGET_CHUNKS,
                sizes: tuple[int, ...] = CHUNK_SIZES) -> Built | None:
    """The 100,000-chunk store when it is complete and of this recipe; None otherwise (nothing is built)."""
    return _ready(cache / "store-100k", _recipe_100k(_load(corpus), target, sizes))


def _recipe_100k(files: list[Any], target: int, sizes: tuple[int, ...]) -> dict[str, Any]:
    return {"kind": "100k", "corpus": _corpus_hash(files), "target": target, "sizes": list(sizes), **_common()}


def ensure_100k(cache: Path, corpus: Path = BBC, target: int = TARGET_CHUNKS,
                sizes: tuple[int, ...] = CHUNK_SIZES, vectors: TextVectors | None = None, log: Any = print) -> Built:
    """CACHE/store-100k over CACHE/articles-100k: the BBC corpus chunked several ways, `target` chunks."""
    files = _load(corpus)
    recipe = _recipe_100k(files, target, sizes)
    store, folder = cache / "store-100k", cache / "articles-100k"
    done = _ready(store, recipe)
    if done:
        return done
    start = time.perf_counter()
    settings = Settings().with_paths(folder, store)
    vectors = vectors or _vectors(cache, files)
    with writer_lock(settings):
        _prepare(store, recipe, folder)
        parts = _write_variants(settings, corpus, files, target, sizes, vectors, log)
    how = (f"the {len(files):,} BBC articles ({corpus}) chunked {len(parts)} ways by index.pipeline.parse, each "
           f"a copy of the corpus under its own folder of {folder}: " + "; ".join(parts) + ". Chunk and sentence "
           f"rows from index.pipeline.chunk_records/sentence_rows, vectors by {vectors.encoder.name} "
           "(all-MiniLM-L6-v2), each distinct text embedded once. Not a `qa index` product: do not run "
           "`qa index` on it (it would re-chunk every copy at 200)")
    return _finish(store, folder, recipe, how, vectors, start)


def _write_variants(settings: Settings, corpus: Path, files: list[Any], target: int, sizes: tuple[int, ...],
                    vectors: TextVectors, log: Any) -> list[str]:
    """Copy and store the corpus chunked at each size in turn until the store holds `target` chunks."""
    total, parts = 0, []
    for size in sizes:
        if total >= target:
            break
        variant = [dataclasses.replace(f, source=f"c{size:03d}/{f.source}") for f in files]
        taken = []
        for a in _parse(variant, size, log):
            if total >= target:
                break
            taken.append(a)
            total += len(a.chunks)
        _copy(corpus, settings.articles, size, [a.file.source for a in taken])
        _write(settings, taken, vectors, log)
        vectors.save()
        parts.append(f"{sum(len(a.chunks) for a in taken):,} chunks of at most {size} word pieces "
                     f"({len(taken):,} articles, c{size:03d}/)")
    return parts


def _common() -> dict[str, Any]:
    return {"version": RECIPE_VERSION, "signature": Settings().index_signature}


def _load(corpus: Path) -> list[Any]:
    from index.load import load_folder

    files, _, _ = load_folder(corpus)
    return files


def _corpus_hash(files: list[Any]) -> str:
    return hashlib.sha256("\n".join(f"{f.source}\t{f.sha}" for f in files).encode()).hexdigest()[:16]


def _recipe_hash(recipe: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def _ready(store: Path, recipe: dict[str, Any]) -> Built | None:
    """The cached store when it is complete and built by this recipe."""
    try:
        ready = json.loads((store / "READY").read_text())
    except (OSError, ValueError):
        return None
    if ready.get("recipe") != _recipe_hash(recipe):
        return None
    return Built(store, Path(ready["articles"]), ready["chunks"], ready["sentences"], ready["seconds"], True,
                 ready["how"], ready["encoder"])


def _prepare(store: Path, recipe: dict[str, Any], articles: Path | None = None) -> None:
    """Start (or resume) a build: a store of another recipe is emptied, a foreign folder refused."""
    from index.store import drop_collection

    mark = store / "RECIPE.json"
    if store.exists() and any(p.name != "index.lock" for p in store.iterdir()):
        if not mark.exists():
            raise SystemExit(f"{store} exists and is not a benchmark store; remove it or pass another --cache.")
        if json.loads(mark.read_text()).get("hash") != _recipe_hash(recipe):
            (store / "READY").unlink(missing_ok=True)
            # Through Chroma, not rmtree: a client of this process may still hold the folder open.
            drop_collection(Settings().with_paths(None, store))
            if articles:
                shutil.rmtree(articles, ignore_errors=True)
    store.mkdir(parents=True, exist_ok=True)
    mark.write_text(json.dumps({"hash": _recipe_hash(recipe), "recipe": recipe}, indent=1))


def _vectors(cache: Path, files: list[Any]) -> TextVectors:
    sample = [f.text[:1000] for f in files[:48]]
    return TextVectors(fastest(sample), cache / "vectors-minilm.npz")


def _parse(files: list[Any], size: int, log: Any) -> list[Any]:
    from index.pipeline import date_articles, parse

    start = time.perf_counter()
    articles = [parse(f, size) for f in files]
    date_articles(articles)
    log(f"parsed {len(files):,} files at {size} word pieces: {sum(len(a.chunks) for a in articles):,} chunks "
        f"in {time.perf_counter() - start:.0f} s")
    return articles


def _copy(corpus: Path, folder: Path, size: int, sources: list[str]) -> None:
    """The files of one chunking under folder/cNNN/, byte for byte."""
    prefix = f"c{size:03d}/"
    for source in sources:
        dest = folder / source
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(corpus / source.removeprefix(prefix), dest)


def _write(settings: Settings, articles: list[Any], vectors: TextVectors, log: Any) -> None:
    """Chunks and their sentences into the store, sentences first (as the pipeline does); resumable."""
    from index.pipeline import chunk_records, embed_text, sentence_rows
    from index.store import all_rows, in_batches, open_collection, open_sentences

    collection = open_collection(settings, create=True)
    sentences = open_sentences(settings, create=True)
    have = {cid for cid, _ in all_rows(collection, [])}
    if have:  # resuming: what an interrupted run stored need not be embedded again
        vectors.seed(collection, sentences)
    records = [r for a in articles for r in chunk_records(a) if r[0] not in have]
    start, done, saved = time.perf_counter(), 0, time.perf_counter()
    for batch in in_batches(records, 1000):
        chunk_vectors = vectors.get([embed_text(meta["title"], text) for _, text, meta in batch])
        rows = [row for cid, text, meta in batch for row in sentence_rows(cid, text, meta)]
        row_vectors = vectors.get([r[1] for r in rows])
        for i in range(0, len(rows), 1000):
            sentences.upsert(ids=[r[0] for r in rows[i : i + 1000]], embeddings=row_vectors[i : i + 1000].tolist())
        for i in range(0, len(batch), 1000):
            part = batch[i : i + 1000]
            collection.upsert(ids=[r[0] for r in part], embeddings=chunk_vectors[i : i + 1000].tolist(),
                              documents=[r[1] for r in part], metadatas=[r[2] for r in part])
        done += len(batch)
        if time.perf_counter() - saved > 600:
            vectors.save()
            saved = time.perf_counter()
        rate = done / (time.perf_counter() - start)
        log(f"  {done:,}/{len(records):,} chunks stored ({rate:.1f}/s, {vectors.embedded:,} texts embedded, "
            f"about {(len(records) - done) / rate / 60:.0f} min left)")


def _finish(store: Path, articles: Path, recipe: dict[str, Any], how: str, vectors: TextVectors,
            start: float) -> Built:
    from index.store import open_collection, open_sentences
    from qa.corpus import open_corpus

    settings = Settings().with_paths(articles, store)
    collection, sentence_store = open_collection(settings), open_sentences(settings)
    chunks, sentences = collection.count(), sentence_store.count()
    # The query cache `qa index` leaves after a change (half a minute at 100,000 chunks): the bench
    # times an engine loading a store, not the first one building that cache.
    open_corpus(settings, collection, sentence_store)
    vectors.save()
    seconds = time.perf_counter() - start
    ready = {"chunks": chunks, "sentences": sentences, "how": how, "encoder": vectors.encoder.name,
             "seconds": round(seconds, 1), "articles": str(articles), "recipe": _recipe_hash(recipe),
             "built": dt.datetime.now().isoformat(timespec="seconds"),
             "open_with": f"qa.load(articles={str(articles)!r}, store={str(store)!r}, build=False)"}
    tmp = store / "READY.tmp"
    tmp.write_text(json.dumps(ready, indent=1) + "\n")
    tmp.replace(store / "READY")
    return Built(store, articles, chunks, sentences, seconds, False, how, vectors.encoder.name)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.stores", description=__doc__.split("\n")[0])
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"folder of the stores (default {DEFAULT_CACHE})")
    p.add_argument("--bbc", type=Path, default=BBC, help="the BBC corpus folder")
    args = p.parse_args(argv)

    def log(msg: str) -> None:
        print(f"[{dt.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)

    args.cache.mkdir(parents=True, exist_ok=True)
    vectors = _vectors(args.cache, _load(args.bbc)[:48])
    log(f"encoder: {vectors.encoder.name}; {len(vectors.rows):,} vectors cached")
    for build in (ensure_bbc, ensure_100k):
        built = build(args.cache, args.bbc, vectors=vectors, log=log)
        log(f"{built.store}: {built.chunks:,} chunks, {built.sentences:,} sentences, "
            f"{'cached' if built.reused else f'built in {built.seconds / 60:.1f} min'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
