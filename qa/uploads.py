"""Articles added from the web UI: checked, given a safe name, written into the articles folder only.

    saved = add_articles([Path("/tmp/gradio/…/My Story.txt")], settings)   # ["My_Story.txt"]
    build_index(settings)                                                  # then index them
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from qa.config import Settings
from qa.errors import UploadError

SUFFIXES = (".txt", ".md")
MAX_NAME = 100  # characters of a saved file name
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A plain file name for an upload, or UploadError. Example: "../../etc/Top story!.TXT" -> "Top_story.txt"."""
    base = re.split(r"[\\/]", name)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem, dot, suffix = base.rpartition(".")
    if not dot or f".{suffix.lower()}" not in SUFFIXES:
        raise UploadError(f"{base or name!r} is not a .txt or .md file; only plain-text articles can be added.")
    stem = _UNSAFE.sub("_", stem).strip("._-")[: MAX_NAME - 4] or "article"
    return f"{stem}.{suffix.lower()}"


def add_articles(paths: list[Path], settings: Settings) -> list[str]:
    """Copy uploaded files into the articles folder under safe, unused names; the names written.

    Every file is checked before any is written, so a bad file in a batch adds nothing.
    """
    checked = [(safe_name(p.name), _checked_text(p, settings.max_upload_bytes)) for p in paths]
    folder = settings.articles.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for name, text in checked:
        target = _unused(folder, name)
        if target.parent != folder:  # cannot happen with safe_name; refuse rather than trust it
            raise UploadError(f"{name!r} would be written outside the articles folder.")
        _write(target, text)
        saved.append(target.name)
    return saved


def _checked_text(path: Path, limit: int) -> str:
    from index.load import decode

    size = path.stat().st_size
    if size > limit:
        raise UploadError(f"{path.name} is {size:,} bytes; the limit is {limit:,}. Upload a shorter article.")
    try:
        text, _ = decode(path.read_bytes())
    except Exception as e:  # index.load's own "not text" reasons
        raise UploadError(f"{path.name} cannot be added: {e}.") from None
    if not text.strip():
        raise UploadError(f"{path.name} is empty.")
    return text


def _unused(folder: Path, name: str) -> Path:
    """`name` in `folder`, or `name-2`, `name-3`, ... if taken: an upload never replaces an article."""
    stem, suffix = name.rsplit(".", 1)
    target, n = folder / name, 1
    while target.exists():
        n += 1
        target = folder / f"{stem}-{n}.{suffix}"
    return target


def _write(target: Path, text: str) -> None:
    """Write through a hidden temporary file, so the indexer never reads half an article."""
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
