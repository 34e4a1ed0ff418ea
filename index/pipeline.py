"""The ingestion pipeline: load -> clean -> chunk -> embed -> store, changing only what changed."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index import dates, manifest
from index.chunk import chunk_sentences
from index.clean import clean
from index.encoder import count_tokens, default_encoder, make_embedder
from index.load import SourceFile, load_folder
from index.metadata import authors, outlet, title
from index.sentences import split_sentences
from index.store import (
    all_rows,
    as_built,
    damage_reported,
    in_batches,
    new_generation,
    open_collection,
    open_sentences,
    reopen,
    reset,
    writer_lock,
)
from qa.config import Settings
from qa.corpus import forget, refresh
from qa.errors import CorpusError

Progress = Callable[[int, int], None]  # (done, total) chunks embedded
# New chunks are embedded and written this many at a time: memory stays flat as the corpus grows, and a
# run that dies keeps the slices it wrote (the next run embeds only the rest).
SLICE = 500


@dataclass
class Article:
    """One parsed article: its text, the spans cleaning kept, and what the page says about it."""

    file: SourceFile
    title: str
    outlet: str | None
    authors: list[str]
    chunks: list[Any]  # index.chunk.Chunk
    dated: dates.Dated


@dataclass
class IndexReport:
    """What one `qa index` run did, file by file (sources) and chunk by chunk (counts)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    skipped_kinds: Counter[str] = field(default_factory=Counter)  # "empty": 2, "binary": 1, ...
    warnings: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0  # moved text whose stored vector was reused
    chunks_deleted: int = 0
    chunks_repaired: int = 0  # stored chunks whose missing sentence vectors were added again
    chunks_total: int = 0
    moved_aside: Path | None = None  # where --rebuild put a store it could not open
    profile: str | None = None  # the store's profile (qa.config.PROFILES), when one was chosen
    wrote: bool = False  # anything written: a running UI reloads

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def build_index(settings: Settings, rebuild: bool = False, progress: Progress | None = None,
                wait: Callable[[str], None] | None = None) -> IndexReport:
    """Bring the store in step with the articles folder; unchanged files cost nothing.

    Another run in progress: IndexBusy, or with `wait` (called with a line to show) wait for it.
    """
    with writer_lock(settings, wait):
        reopen(settings)  # another process may have written since this one last read the store
        files, skipped, warnings = load_folder(settings.articles)
        if not files and not skipped:
            raise CorpusError(f"No .txt or .md files in {settings.articles}; add articles or pass --articles DIR.")
        report = IndexReport(skipped=[(s.source, s.reason) for s in skipped],
                             skipped_kinds=Counter(s.kind for s in skipped), warnings=warnings)
        with damage_reported(settings, writing=True):
            if rebuild:
                report.moved_aside = reset(settings)
            else:
                settings = as_built(settings)  # a store built with --fast stays fast
            report.profile = settings.profile
            collection = open_collection(settings, create=True)
            sentences = open_sentences(settings, create=True)
            inputs = manifest.fingerprint(files, settings)
            if not rebuild and manifest.matches(settings, inputs, collection, sentences):
                report.kept, report.chunks_total = sorted(f.source for f in files), collection.count()
                return report  # the files, code and settings of the last complete run: nothing to parse
            manifest.forget(settings)
            articles = [parse(f, settings.chunk_tokens) for f in files]
            date_articles(articles, settings.encoder, settings.cache)
            _sync(collection, sentences, articles, settings, report, progress)
            if report.wrote or rebuild:
                refresh(settings, collection, sentences)  # the query side's cache (qa/corpus.py)
            manifest.save(settings, inputs, collection, sentences)
        if report.wrote or rebuild:
            new_generation(settings)  # a running `qa serve` reloads (qa/web.py)
        return report


def parse(file: SourceFile, chunk_tokens: int) -> Article:
    """Clean, split and chunk one file; read its title, outlet and date clues."""
    text = file.text
    kept = clean(text)
    sentences = split_sentences(text, kept.paragraphs)
    chunks = chunk_sentences(text, sentences, count_tokens, chunk_tokens)
    sentence_texts = [text[s.start : s.end] for s in sentences]
    lede = " ".join(text[p.start : p.end] for p in kept.paragraphs[:3])
    dated = dates.Dated(file.source, lede, sentence_texts, latest_mentioned=dates.latest_full_date(sentence_texts))
    stated = dates.stated_date(text)
    if stated:
        dated.date, dated.note = stated[0], stated[1]
    return Article(file, title(text, kept.paragraphs), outlet(text), authors(text), chunks, dated)


def date_articles(articles: list[Article], encoder: str = "onnx", cache: Path | None = None) -> None:
    """Infer the dates that articles do not state, from the ones that do (MiniLM compares their ledes)."""
    known = [a.dated for a in articles if a.dated.date]
    unknown = [a.dated for a in articles if not a.dated.date]
    if not known or not unknown:
        return
    everyone = known + unknown
    vectors = default_encoder(encoder, cache).embed([d.lede for d in everyone])
    for d, v in zip(everyone, vectors):
        d.vector = v

    def similarity(a: dates.Dated, b: dates.Dated) -> float:
        return float(np.dot(np.asarray(a.vector), np.asarray(b.vector)))

    dates.infer_dates(everyone, similarity)


def chunk_records(article: Article) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, text, metadata) per chunk; the id hashes source, offsets and text, so it is stable."""
    f = article.file
    out = []
    for c in article.chunks:
        text = f.text[c.start : c.end]
        chunk_id = hashlib.sha256(f"{f.source}\0{c.start}\0{c.end}\0{text}".encode()).hexdigest()[:32]
        meta: dict[str, Any] = {
            "source": f.source,
            "title": article.title,
            "date": article.dated.date.isoformat() if article.dated.date else "",
            "date_note": article.dated.note,
            "outlet": article.outlet or "",
            "authors": ", ".join(article.authors),
            "start": c.start,
            "end": c.end,
            "sentences": json.dumps([[s.start - c.start, s.end - c.start] for s in c.sentences]),
            "file_sha": f.sha,
            "encoding": f.encoding,
            "embed_sha": hashlib.sha256(embed_text(article.title, text).encode()).hexdigest()[:32],
        }
        out.append((chunk_id, text, meta))
    return out


def embed_text(title: str, chunk: str) -> str:
    """What is embedded for a chunk: the headline gives context to a chunk that lacks it."""
    return f"{title}\n{chunk}" if title and not chunk.startswith(title) else chunk


def _sync(collection: Any, sentences: Any, articles: list[Article], settings: Settings, report: IndexReport,
          progress: Progress | None) -> None:
    stored = dict(all_rows(collection, ["metadatas"]))
    stored_files = {m["source"]: m["file_sha"] for m in stored.values()}
    wanted = {cid: (text, meta) for a in articles for cid, text, meta in chunk_records(a)}
    # Same text, new metadata (e.g. a date inferred from another article that changed).
    changed_meta = [cid for cid in wanted if cid in stored and stored[cid] != wanted[cid][1]]
    retagged = {wanted[cid][1]["source"] for cid in changed_meta}
    # Same text, but what is embedded changed (a new headline of the same length): a new vector.
    stale_vectors = [cid for cid in changed_meta if stored[cid].get("embed_sha") != wanted[cid][1]["embed_sha"]]
    changed_meta = [cid for cid in changed_meta if cid not in stale_vectors]
    for a in articles:
        source = a.file.source
        if source not in stored_files:
            report.added.append(source)
        elif stored_files[source] != a.file.sha or source in retagged:
            report.updated.append(source)
        else:
            report.kept.append(source)
    report.removed = sorted(set(stored_files) - {a.file.source for a in articles})

    new_ids = [cid for cid in wanted if cid not in stored]
    missing, orphans = _sentence_gaps(sentences, stored)
    repair = [cid for cid in missing if cid in wanted]  # e.g. the sentence collection was deleted
    if new_ids or changed_meta or stale_vectors or set(stored) - set(wanted) or repair or orphans:
        forget(settings)  # stale from the first write on, even if this run dies before `refresh`
    _add_sentences(sentences, repair, wanted, settings)
    report.chunks_repaired = len(repair)
    for batch in in_batches([row for row in orphans if chunk_of(row) not in wanted]):
        sentences.delete(ids=batch)
    moved = _moved_vectors(collection, new_ids, wanted, stored)  # same text at new offsets: no new pass
    report.chunks_reused = len(moved)
    _write(collection, sentences, list(moved), moved, {}, wanted, settings)
    todo = [cid for cid in new_ids if cid not in moved] + stale_vectors
    embedder, done = _embedder(settings), 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, len(todo))

    for part in (todo[i : i + SLICE] for i in range(0, len(todo), SLICE)):
        vectors, sentence_vectors = _chunk_pass(embedder, part, wanted, tick, settings.sentence_vectors)
        _write(collection, sentences, part, vectors, sentence_vectors, wanted, settings)
    report.chunks_embedded = len(todo)
    stale = [cid for cid in stored if cid not in wanted]
    for batch in in_batches(stale):
        collection.delete(ids=batch)
        sentences.delete(ids=[row for cid in batch for row in sentence_ids(cid, stored[cid])])
    report.chunks_deleted = len(stale)
    for batch in in_batches(changed_meta):
        collection.update(ids=batch, metadatas=[wanted[cid][1] for cid in batch])
    report.chunks_total = len(wanted)
    report.wrote = bool(new_ids or stale or changed_meta or stale_vectors or repair or orphans)


def _sentence_gaps(sentences: Any, stored: dict[str, dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(stored chunks missing sentence rows, sentence row IDs without a stored chunk).

    Only counted when the totals disagree, so a healthy store costs one count.
    """
    expected = {cid: len(json.loads(m["sentences"])) for cid, m in stored.items()}
    if sentences.count() == sum(expected.values()):
        return [], []
    rows = [row_id for row_id, _ in all_rows(sentences, include=[])]
    have = Counter(chunk_of(row_id) for row_id in rows)
    missing = [cid for cid, n in expected.items() if have.get(cid, 0) < n]
    return missing, [row for row in rows if chunk_of(row) not in expected]


def _moved_vectors(collection: Any, new_ids: list[str], wanted: dict[str, tuple[str, dict[str, Any]]],
                   stored: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Stored vectors for new chunk IDs whose embedded text is already stored (text moved within its file)."""
    by_sha = {m.get("embed_sha"): cid for cid, m in stored.items()}
    reuse = {cid: by_sha[wanted[cid][1]["embed_sha"]] for cid in new_ids if wanted[cid][1]["embed_sha"] in by_sha}
    vectors: dict[str, Any] = {}
    for batch in in_batches(sorted(set(reuse.values()))):
        got = collection.get(ids=batch, include=["embeddings"])
        old = dict(zip(got["ids"], got["embeddings"]))
        for cid, src in reuse.items():
            if src in old:
                vectors[cid] = old[src]
    return vectors


def _write(collection: Any, sentences: Any, ids: list[str], vectors: dict[str, Any], sentence_vectors: dict[str, Any],
           wanted: dict[str, tuple[str, dict[str, Any]]], settings: Settings) -> None:
    """Store new chunks: their sentences first, then the chunks, so a crash never leaves a chunk without them."""
    _add_sentences(sentences, ids, wanted, settings, sentence_vectors)
    for batch in in_batches(ids):
        collection.upsert(
            ids=batch,
            embeddings=[vectors[cid] for cid in batch],
            documents=[wanted[cid][0] for cid in batch],
            metadatas=[wanted[cid][1] for cid in batch],
        )


def _chunk_pass(embedder: Any, ids: list[str], wanted: dict[str, tuple[str, dict[str, Any]]],
                progress: Callable[[int], None] | None = None, sentences: str = "pooled",
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(chunk id -> vector, sentence row id -> vector): one forward pass per chunk, its sentences pooled from it.

    A pooled sentence vector is the mean of its word pieces' vectors in its chunk's pass (Encoder.embed_spans),
    so sentences cost no second pass. With sentences="separate", or an embedder without spans (OpenAI),
    the second dict is empty: sentences are embedded on their own.
    """
    texts = [embed_text(wanted[c][1]["title"], wanted[c][0]) for c in ids]
    if sentences != "pooled" or not hasattr(embedder, "embed_spans"):
        return dict(zip(ids, embedder.embed(texts, progress=progress))), {}
    spans = []
    for cid, full in zip(ids, texts):
        shift = len(full) - len(wanted[cid][0])  # the title line before the chunk text
        spans.append([(a + shift, b + shift) for a, b in json.loads(wanted[cid][1]["sentences"])])
    vectors, span_vectors = embedder.embed_spans(texts, spans, progress)
    pooled = {f"{cid}:{i}": v for cid, rows in zip(ids, span_vectors) for i, v in enumerate(rows) if v.any()}
    return dict(zip(ids, vectors)), pooled


def sentence_rows(chunk_id: str, text: str, meta: dict[str, Any]) -> list[tuple[str, str]]:
    """(row id, text) of each sentence of a chunk. Example: ("<chunk id>:0", "First sentence.")"""
    return [(f"{chunk_id}:{i}", text[a:b]) for i, (a, b) in enumerate(json.loads(meta["sentences"]))]


def sentence_ids(chunk_id: str, meta: dict[str, Any]) -> list[str]:
    """The sentence row IDs of a stored chunk."""
    return [f"{chunk_id}:{i}" for i in range(len(json.loads(meta["sentences"])))]


def chunk_of(row_id: str) -> str:
    """The chunk ID of a sentence row ID. Example: chunk_of("ab12:3") == "ab12"."""
    return row_id.rsplit(":", 1)[0]


def _add_sentences(sentences: Any, new_ids: list[str], wanted: dict[str, tuple[str, dict[str, Any]]],
                   settings: Settings, known: dict[str, Any] | None = None) -> None:
    """Write the sentence rows of `new_ids`, with their vectors from `known` (pooled in their chunk's pass) or
    embedded here: each distinct text once, shortest first, while a thread writes the part before.

    ONNX Runtime and Chroma's writes both release the GIL, so embedding and writing overlap.
    """
    known = dict(known or {})
    rows = [r for cid in new_ids for r in sentence_rows(cid, *wanted[cid])]
    embedder = _embedder(settings)
    if settings.sentence_vectors == "pooled" and hasattr(embedder, "embed_spans"):
        missing = list(dict.fromkeys(chunk_of(r[0]) for r in rows if r[0] not in known))  # reused, repaired chunks
        known.update(_chunk_pass(embedder, missing, wanted)[1] if missing else {})
    by_text: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        if r[0] not in known:  # separate vectors, a sentence the window cut off, or no spans (OpenAI)
            by_text.setdefault(r[1], []).append(r)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sentence-writer") as writer:
        ready = [(r, known[r[0]]) for r in rows if r[0] in known]
        writes = [writer.submit(_upsert_sentences, sentences, batch) for batch in in_batches(ready)]
        for part in in_batches(sorted(by_text, key=len), 4096):
            pairs = [(r, v) for text, v in zip(part, embedder.embed(part)) for r in by_text[text]]
            writes += [writer.submit(_upsert_sentences, sentences, batch) for batch in in_batches(pairs)]
        for write in writes:
            write.result()  # a failed write raises here, before any chunk is written


def _upsert_sentences(sentences: Any, pairs: list[tuple[tuple[str, str], Any]]) -> None:
    sentences.upsert(ids=[row[0] for row, _ in pairs], embeddings=[v for _, v in pairs])  # no text: see open_sentences


def _embedder(settings: Settings) -> Any:
    return make_embedder(settings.embedding, settings.openai_api_key, settings.openai_base_url, settings.encoder,
                         settings.cache)
