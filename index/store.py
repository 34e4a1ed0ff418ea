"""Store: the Chroma collection (embedded, or a `chroma run` server), its settings, its lock, its
generation marker, and what to do when it is damaged."""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.errors import CorpusError, IndexBusy, IndexMismatch, IndexMissing, StoreError

_BATCH = 1000  # rows per Chroma call; its limit is larger, this bounds memory


def open_collection(settings: Settings, create: bool = False) -> Any:
    """The Chroma collection of `settings`; checks it was built with the same model and chunking."""
    client = _client(settings, create)
    try:
        if create:
            collection = client.get_or_create_collection(
                settings.collection,
                metadata={**settings.index_signature, **({"profile": settings.profile} if settings.profile else {})},
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        else:
            collection = client.get_collection(settings.collection, embedding_function=None)
    except Exception as e:
        if create or not _not_found(e):
            raise _cannot_open(settings, e) from e
        raise IndexMissing(f"No index at {_where(settings)} yet. Run `qa index` to build it.") from None
    check_signature(collection, settings)
    return collection


_UNSEARCHED = {"space": "cosine", "ef_construction": 8, "max_neighbors": 4}  # HNSW settings, see below


def open_sentences(settings: Settings, create: bool = False) -> Any:
    """The companion collection of sentence vectors, which the extractive answerer scores.

    Rows hold an ID ("<chunk id>:<n>") and a vector, no text: the text is the chunk's, at the offsets in its
    metadata. Nothing searches this collection (its vectors are read by ID), so its HNSW graph is built as
    cheaply as Chroma allows: writes run ~5x faster than with a text, metadata and the default graph.
    """
    client = _client(settings, create)
    name = settings.collection + "-sentences"
    try:
        if create:
            return client.get_or_create_collection(
                name, configuration={"hnsw": _UNSEARCHED}, embedding_function=None
            )
        return client.get_collection(name, embedding_function=None)
    except Exception as e:
        if create or not _not_found(e):
            raise _cannot_open(settings, e) from e
        raise IndexMissing(
            f"The store at {_where(settings)} has no sentence vectors. Run `qa index` to add them."
        ) from None


_BEFORE_RECORDED = {"sentences": "separate"}  # what stores built before a key was recorded used


def as_built(settings: Settings) -> Settings:
    """`settings` with the profile the store was built with (Settings.profile): a store is read and updated as
    it was built. A new store: `settings` as they are. Asking for another profile is an IndexMismatch.

    Example: a store built by `qa index --fast`, then `qa ask` without it -> the int8 encoder, pooled sentences.
    """
    try:
        client = _client(settings, create=False)  # a store that cannot be opened says so here
    except IndexMissing:
        return settings
    try:
        metadata = client.get_collection(settings.collection, embedding_function=None).metadata
    except Exception as e:
        if _not_found(e):
            return settings
        raise _cannot_open(settings, e) from e
    stored = (metadata or {}).get("profile")
    if settings.profile is None:
        return settings.with_profile(stored) if stored else settings
    if settings.profile != (stored or "accurate"):
        raise IndexMismatch(
            f"The store at {_where(settings)} was built with the {stored or 'accurate'} profile, not "
            f"{settings.profile}. Keep it (leave out --fast and QA_PROFILE), or re-index in the new profile: "
            f"`qa index --rebuild{' --fast' if settings.profile == 'fast' else ''}`."
        )
    return settings


def check_signature(collection: Any, settings: Settings) -> None:
    stored = {k: str(v) for k, v in (collection.metadata or {}).items() if k in settings.index_signature}
    if stored:
        stored = {**_BEFORE_RECORDED, **stored}
    if stored != settings.index_signature:
        raise IndexMismatch(
            f"The store at {_where(settings)} was built with {stored or 'unknown settings'}, but this "
            f"run uses {settings.index_signature}. Re-index: `qa index --rebuild`."
        )


def drop_collection(settings: Settings) -> None:
    """Delete the collections (for `qa index --rebuild`); missing ones are fine, a damaged store is not."""
    from chromadb.errors import NotFoundError

    client = _client(settings, create=True)
    for name in (settings.collection, settings.collection + "-sentences"):
        try:
            client.delete_collection(name)
        except (NotFoundError, ValueError):  # absent already: nothing to drop
            pass
        except Exception as e:
            raise StoreError(f"Cannot empty the store at {_where(settings)} ({_first_line(e)}).") from e


def all_rows(collection: Any, include: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, metadata) of every stored chunk, read in pages."""
    offset = 0
    while True:
        page = collection.get(include=include, limit=_BATCH, offset=offset)
        if not page["ids"]:
            return
        metas = page.get("metadatas") or [{}] * len(page["ids"])
        yield from zip(page["ids"], metas)
        offset += len(page["ids"])


def in_batches(items: list[Any], size: int = _BATCH) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@contextmanager
def writer_lock(settings: Settings, wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """One writer at a time; a second `qa index` is told who holds the lock, or waits when `wait`
    is given (it is called once with the line to show while waiting)."""
    _check_store_folder(settings)
    path = settings.store / "index.lock"
    try:
        handle = open(path, "a+")  # noqa: SIM115 - closed by the `with` below
    except IsADirectoryError:
        raise StoreError(in_the_way(path)) from None
    except OSError as e:
        raise StoreError(_read_only(settings, e)) if _unwritable(e) else e from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            if wait is None:
                raise IndexBusy(
                    f"Another `qa index` (pid {holder}) is writing {settings.store}. "
                    "Wait for it to finish, or run again with --wait."
                ) from None
            wait(f"Another `qa index` (pid {holder}) is writing {settings.store}; waiting for it to finish.")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def writer_running(settings: Settings) -> bool:
    """Is a `qa index` writing this store right now?"""
    try:
        with open(settings.store / "index.lock") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
    except BlockingIOError:
        return True
    except OSError:
        return False


MANIFEST = "indexed.json"  # written by a `qa index` run that completed (index/manifest.py)


def check_filled(settings: Settings, chunks: int) -> None:
    """An index without a chunk is being built, or was left so by a run that did not finish: say so, rather
    than answer every question with "the articles don't say"."""
    if chunks:
        return
    if writer_running(settings):
        raise IndexBusy(f"The index at {_where(settings)} is being built by `qa index` and is empty so far; "
                        "ask again when it finishes.")
    if not (settings.store / MANIFEST).is_file():
        raise IndexMissing(f"The index at {_where(settings)} is empty: the `qa index` that began it did not "
                           "finish. Run `qa index` to complete it.")
    raise CorpusError(f"The index at {_where(settings)} holds no article: no file in {settings.articles} could "
                      "be indexed. Add .txt or .md articles there and run `qa index`.")


def generation(settings: Settings) -> str:
    """A token that changes every time `qa index` finishes writing; "" before the first one.

    Example: generation(s) != before  ->  a running UI loads the new index
    """
    try:  # bytes, not text: a damaged marker is a token like any other, never an error
        return (settings.store / "generation").read_bytes().decode("utf-8", "replace").strip()
    except OSError:
        return ""


def new_generation(settings: Settings) -> str:
    """Mark the store as changed, atomically (a reader sees the old token or the new one)."""
    token = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    tmp = settings.store / f".generation.{os.getpid()}"
    tmp.write_text(token + "\n")
    os.replace(tmp, settings.store / "generation")
    return token


def reopen(settings: Settings) -> None:
    """Read the store as it is on disk from now on: Chroma keeps one client per folder per process,
    with its vector index in memory, which does not see what another process wrote since.
    Engines already loaded keep the client they have."""
    if settings.chroma_url:
        return
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(settings.store), None)


@contextmanager
def damage_reported(settings: Settings, writing: bool = False) -> Iterator[None]:
    """Chroma failing inside a store becomes a StoreError that says what to do. `writing`: the caller
    holds the writer lock, so the failure is not another writer's doing."""
    from chromadb.errors import ChromaError

    try:
        yield
    except ChromaError as e:
        if not writing and writer_running(settings):
            raise StoreError(
                f"The index at {_where(settings)} is being rewritten by `qa index`; ask again when it finishes."
            ) from e
        raise StoreError(f"The store at {_where(settings)} is damaged ({_first_line(e)}). {_rebuild(settings)}") from e


def reset(settings: Settings) -> Path | None:
    """Empty the store for `qa index --rebuild`. One that cannot be opened is moved aside, never
    deleted: returns the folder it was moved to (store.broken-<time>), or None."""
    try:
        drop_collection(settings)
        return None
    except StoreError:
        if settings.chroma_url:
            raise
    broken = settings.store.with_name(f"{settings.store.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    broken.mkdir()
    for entry in settings.store.iterdir():
        if entry.name != "index.lock":  # held by this run; moving it would let a second writer in
            os.replace(entry, broken / entry.name)
    reopen(settings)
    return broken


def _check_store_folder(settings: Settings) -> None:
    if settings.store.exists() and not settings.store.is_dir():
        raise StoreError(f"The store path {settings.store} is a file, not a folder. Pass --store DIR or set QA_STORE.")
    try:
        settings.store.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(_read_only(settings, e)) if _unwritable(e) else e from None


def _client(settings: Settings, create: bool) -> Any:
    import chromadb

    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https"
            )
        except Exception as e:
            raise StoreError(
                f"Cannot reach the Chroma server at {settings.chroma_url} ({e}). Start it with "
                "`chroma run --path DIR`, or unset QA_CHROMA_URL to use the local store."
            ) from e
    if not create and not (settings.store / "chroma.sqlite3").exists():
        raise IndexMissing(f"No index at {settings.store} yet. Run `qa index` to build it.")
    try:
        return chromadb.PersistentClient(path=str(settings.store))
    except Exception as e:
        reopen(settings)  # Chroma keeps the client that failed to start; the next try must not get it
        if "readonly database" in str(e) or not os.access(settings.store, os.W_OK):
            raise StoreError(_read_only(settings, e)) from e
        raise StoreError(
            f"The store at {settings.store} cannot be opened ({_first_line(e)}). {_rebuild(settings)}"
        ) from e


def _unwritable(e: OSError) -> bool:
    import errno

    return e.errno in (errno.EACCES, errno.EPERM, errno.EROFS)


def _read_only(settings: Settings, e: Exception) -> str:
    """Advice for a store this user cannot write: Chroma writes even to answer, and rebuilding cannot help."""
    return (f"The store at {settings.store} is read-only for this user ({_first_line(e)}); Chroma writes to it "
            f"even to answer. Make it writable (chmod -R u+w {settings.store}), or copy it to a folder you can "
            "write and pass --store or set QA_STORE to that.")


def in_the_way(path: Path) -> str:
    return f"{path} is a folder, where `qa index` keeps a file of that name. Move the folder away and run again."


def _where(settings: Settings) -> str:
    return settings.chroma_url or str(settings.store)


def _not_found(e: Exception) -> bool:
    """Chroma's "no such collection" (NotFoundError; ValueError in older versions)."""
    from chromadb.errors import NotFoundError

    return isinstance(e, NotFoundError | ValueError)


def _cannot_open(settings: Settings, e: Exception) -> StoreError:
    return StoreError(f"Cannot open the store at {_where(settings)} ({_first_line(e)}). {_rebuild(settings)}")


def _first_line(e: Exception) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:200] if lines else type(e).__name__


def _rebuild(settings: Settings) -> str:
    return f"Rebuild it with `qa index --rebuild --store {Path(settings.store)}`."
