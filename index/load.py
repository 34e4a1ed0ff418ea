"""Load: every .txt and .md file below a folder, decoded, with its path relative to the folder."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from qa.errors import CorpusError

SUFFIXES = (".txt", ".md")
MAX_BYTES = 10 * 1024 * 1024  # a news article is a few KB; 10 MB is a dump, not an article


@dataclass(frozen=True)
class SourceFile:
    """One article file as Python's `open(path, encoding=encoding).read()` returns it."""

    source: str  # path relative to the corpus folder, with "/" separators
    text: str
    encoding: str
    sha: str  # of the text, so a re-encoded but identical file is unchanged


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


def load_folder(folder: Path) -> tuple[list[SourceFile], list[Skipped], list[str]]:
    """(files, skipped files with reasons, warnings) for every .txt/.md below `folder`."""
    if not folder.is_dir():
        raise CorpusError(f"Articles folder {folder} does not exist; pass --articles DIR or set QA_ARTICLES.")
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    warnings: list[str] = []
    for path in _article_paths(folder):
        source = path.relative_to(folder).as_posix()
        try:
            loaded = read_article(path, folder)
        except _Skip as why:
            skipped.append(Skipped(source, str(why)))
            continue
        if loaded.encoding != "utf-8":
            warnings.append(f"{source}: not UTF-8, read as {loaded.encoding}")
        files.append(SourceFile(source, loaded.text, loaded.encoding, loaded.sha))
    return files, skipped, warnings


def _article_paths(folder: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.lower().endswith(SUFFIXES) and not name.startswith("."):
                yield Path(root) / name


class _Skip(Exception):
    """A file that is not indexed; the message is the reason shown to the user."""


@dataclass(frozen=True)
class _Loaded:
    text: str
    encoding: str
    sha: str


def read_article(path: Path, folder: Path) -> _Loaded:
    """Decode one file, or raise _Skip saying why it cannot be an article."""
    if path.is_symlink() and not path.resolve().is_relative_to(folder.resolve()):
        raise _Skip("symbolic link to a file outside the articles folder")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _Skip(f"{size / 1e6:.0f} MB is over the {MAX_BYTES // 2**20} MB limit for one article")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _Skip("deleted while indexing") from None
    except OSError as e:
        raise _Skip(f"cannot be read ({e.strerror})") from None
    text, encoding = decode(raw)
    if not text.strip():
        raise _Skip("empty")
    return _Loaded(text, encoding, hashlib.sha256(text.encode("utf-8")).hexdigest())


def decode(raw: bytes) -> tuple[str, str]:
    """Text with newlines as `open()` gives them, and the encoding that read it.

    Example: decode(b"caf\\xe9\\r\\n") == ("café\\n", "cp1252")
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif b"\x00" in raw[:4096]:
        raise _Skip("binary file (NUL bytes), not text")
    else:
        encoding = "utf-8"
    for candidate in (encoding, "cp1252", "latin-1"):
        try:
            text = raw.decode(candidate)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - latin-1 decodes any byte string
        raise _Skip("undecodable")
    if _looks_binary(text):
        raise _Skip("binary file (control characters), not text")
    return text.replace("\r\n", "\n").replace("\r", "\n"), candidate


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f")
    return controls > len(sample) * 0.01
