"""Store: the Chroma collection (embedded, or a `chroma run` server), its settings and its lock."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.errors import IndexBusy, IndexMismatch, IndexMissing, StoreError

_BATCH = 1000  # rows per Chroma call; its limit is larger, this bounds memory


def open_collection(settings: Settings, create: bool = False) -> Any:
    """The Chroma collection of `settings`; checks it was built with the same model and chunking."""
    client = _client(settings, create)
    try:
        if create:
            collection = client.get_or_create_collection(
                settings.collection,
                metadata=dict(settings.index_signature),
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        else:
            collection = client.get_collection(settings.collection, embedding_function=None)
    except Exception as e:  # chromadb raises NotFoundError/ValueError by version
        if create:
            raise StoreError(f"Cannot open the store at {_where(settings)} ({e}). {_rebuild(settings)}") from e
        raise IndexMissing(f"No index at {_where(settings)} yet. Run `qa index` to build it.") from None
    check_signature(collection, settings)
    return collection


def open_sentences(settings: Settings, create: bool = False) -> Any:
    """The companion collection of sentence vectors, which the extractive answerer scores."""
    client = _client(settings, create)
    name = settings.collection + "-sentences"
    try:
        if create:
            return client.get_or_create_collection(
                name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
        return client.get_collection(name, embedding_function=None)
    except Exception as e:  # noqa: BLE001 - chromadb's error types vary by version
        raise IndexMissing(
            f"The store at {_where(settings)} has no sentence vectors ({e}). {_rebuild(settings)}"
        ) from None


def check_signature(collection: Any, settings: Settings) -> None:
    stored = {k: str(v) for k, v in (collection.metadata or {}).items() if k in settings.index_signature}
    if stored != settings.index_signature:
        raise IndexMismatch(
            f"The store at {_where(settings)} was built with {stored or 'unknown settings'}, but this "
            f"run uses {settings.index_signature}. Re-index: `qa index --rebuild`."
        )


def drop_collection(settings: Settings) -> None:
    """Delete the collection (for `qa index --rebuild`); a missing one is fine."""
    client = _client(settings, create=True)
    for name in (settings.collection, settings.collection + "-sentences"):
        try:
            client.delete_collection(name)
        except Exception:  # noqa: BLE001 - absent already: nothing to drop
            pass


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
def writer_lock(settings: Settings) -> Iterator[None]:
    """One writer at a time; a second `qa index` is told who holds the lock."""
    settings.store.mkdir(parents=True, exist_ok=True)
    path = settings.store / "index.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise IndexBusy(
                f"Another `qa index` (pid {holder}) is writing {settings.store}. "
                "Wait for it to finish, then run again."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
        raise StoreError(f"The store at {settings.store} cannot be opened ({e}). {_rebuild(settings)}") from e


def _where(settings: Settings) -> str:
    return settings.chroma_url or str(settings.store)


def _rebuild(settings: Settings) -> str:
    return f"Rebuild it with `qa index --rebuild --store {Path(settings.store)}`."
