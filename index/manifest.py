"""What the last complete `qa index` run indexed, so an unchanged corpus is known without re-parsing it.

`store/indexed.json` holds a fingerprint of the run's inputs (every file's name and content hash,
the parsing code, the index settings) beside what it left in the store (the two collections' IDs
and row counts). A run removes it before it writes anything and saves it once everything is written,
so a crash never leaves one behind: the next run does the full comparison and completes the store.

    if manifest.matches(settings, fingerprint(files, settings), collection, sentences): nothing to do
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from index.load import SourceFile
from index.store import MANIFEST, in_the_way
from qa.config import Settings
from qa.errors import StoreError

# The modules whose code decides the chunks and their metadata: a change to any of them re-parses.
PARSING = ("load", "clean", "sentences", "chunk", "dates", "metadata", "spans", "pipeline")
_HERE = Path(__file__).parent


def fingerprint(files: list[SourceFile], settings: Settings) -> str:
    """Example: the same files under the same code and settings -> the same string."""
    h = hashlib.sha256(json.dumps(settings.index_signature, sort_keys=True).encode())
    for name in PARSING:
        h.update((_HERE / f"{name}.py").read_bytes())
    for f in sorted(files, key=lambda f: f.source):
        h.update(f"\0{f.source}\0{f.sha}".encode())
    return h.hexdigest()


def matches(settings: Settings, fingerprint: str, collection: Any, sentences: Any) -> bool:
    """The store holds exactly what a complete run over these inputs left in it."""
    try:
        saved = json.loads(_path(settings).read_text())
    except (OSError, ValueError):
        return False
    return bool(saved == {"fingerprint": fingerprint, **_state(collection, sentences)})


def save(settings: Settings, fingerprint: str, collection: Any, sentences: Any) -> None:
    """Record a complete run, atomically."""
    tmp = settings.store / f".indexed.{os.getpid()}"
    tmp.write_text(json.dumps({"fingerprint": fingerprint, **_state(collection, sentences)}, indent=1) + "\n")
    os.replace(tmp, _path(settings))


def forget(settings: Settings) -> None:
    """Before a run writes: until it completes, the store is not known to match anything."""
    if _path(settings).is_dir():
        raise StoreError(in_the_way(_path(settings)))
    _path(settings).unlink(missing_ok=True)


def _state(collection: Any, sentences: Any) -> dict[str, Any]:
    return {"collections": [str(collection.id), str(sentences.id)],
            "rows": [collection.count(), sentences.count()]}


def _path(settings: Settings) -> Path:
    return settings.store / MANIFEST
