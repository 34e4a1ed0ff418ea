"""Load: every .txt and .md file below a folder, decoded, with its path relative to the folder.

A file that cannot be an article is skipped with a reason, never read whole when it is too big,
never waited on when it is a pipe:

    files, skipped, warnings = load_folder(Path("articles"))
    skipped[0]  # Skipped(source="big.txt", reason="50.0 MB is over the 10 MB limit for one article", kind="too large")
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterable
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
    reason: str  # shown to the user, after the file name
    kind: str = "other"  # counted in the run's summary: "empty", "binary", "too large", ...


def load_folder(folder: Path) -> tuple[list[SourceFile], list[Skipped], list[str]]:
    """(files, skipped files with reasons, warnings) for every .txt/.md below `folder`."""
    paths, skipped = list_folder(folder)
    files, unread, warnings = load_files(folder, paths)
    return files, sorted(skipped + unread, key=lambda s: s.source), warnings


def list_folder(folder: Path) -> tuple[list[Path], list[Skipped]]:
    """The article paths below `folder`, and the linked folders that are not followed."""
    if not folder.is_dir():
        raise CorpusError(f"Articles folder {folder} does not exist; pass --articles DIR or set QA_ARTICLES.")
    paths: list[Path] = []
    skipped: list[Skipped] = []
    for root, dirs, names in os.walk(folder):
        visible = sorted(d for d in dirs if not d.startswith("."))
        linked = [d for d in visible if os.path.islink(os.path.join(root, d))]  # a loop, or a way out
        skipped.extend(Skipped(_relative(Path(root) / d, folder), "link to a folder, not followed", "linked folder")
                       for d in linked)
        dirs[:] = [d for d in visible if d not in linked]
        paths.extend(Path(root) / n for n in sorted(names) if n.lower().endswith(SUFFIXES) and not n.startswith("."))
    return paths, skipped


def load_files(folder: Path, paths: Iterable[Path]) -> tuple[list[SourceFile], list[Skipped], list[str]]:
    """Read listed files; one that went away since the listing is skipped as deleted."""
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    warnings: list[str] = []
    first_with: dict[str, str] = {}  # text sha -> first source holding that text
    for path in paths:
        source = _relative(path, folder)
        try:
            loaded = read_article(path, folder)
        except _Skip as why:
            skipped.append(Skipped(source, why.reason, why.kind))
            continue
        if loaded.encoding != "utf-8":
            warnings.append(f"{source}: not UTF-8, read as {loaded.encoding}")
        twin = first_with.setdefault(loaded.sha, source)
        if twin != source:
            warnings.append(f"{source}: same text as {twin}; both are indexed, answers cite one and name the other")
        files.append(SourceFile(source, loaded.text, loaded.encoding, loaded.sha))
    return files, skipped, warnings


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


class _Skip(Exception):
    """A file that is not indexed: `reason` is shown to the user, `kind` is counted."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


@dataclass(frozen=True)
class _Loaded:
    text: str
    encoding: str
    sha: str


def read_article(path: Path, folder: Path) -> _Loaded:
    """Decode one file, or raise _Skip saying why it cannot be an article."""
    if path.is_symlink():
        _check_link(path, folder)
    raw = _read_bounded(path)
    text, encoding = decode(raw)
    if not text.strip():
        raise _Skip("empty", "empty" if not text else "only whitespace")
    return _Loaded(text, encoding, hashlib.sha256(text.encode("utf-8")).hexdigest())


def _check_link(path: Path, folder: Path) -> None:
    try:
        target = path.resolve(strict=True)
    except FileNotFoundError:
        raise _Skip("broken link", f"symbolic link to {os.readlink(path)}, which does not exist") from None
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError on a loop
        raise _Skip("link loop", "symbolic link loop") from None
    if not target.is_relative_to(folder.resolve()):
        raise _Skip("link outside", f"symbolic link to {target}, outside the articles folder")


def _read_bounded(path: Path) -> bytes:
    """The file's bytes, at most MAX_BYTES of them read: a bigger file is refused, not loaded."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # NONBLOCK: a named pipe must not hang the run
    except FileNotFoundError:
        raise _Skip("deleted", "deleted while indexing") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise _Skip("link loop", "symbolic link loop") from None
        raise _Skip("unreadable", f"cannot be read ({e.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _Skip("not a file", "not a regular file (a pipe, socket or device)")
        if info.st_size > MAX_BYTES:
            raise _too_large(info.st_size)
        try:
            raw = f.read(info.st_size + 1)  # read(n) allocates n bytes up front: ask for what is there
            if len(raw) > info.st_size:  # it grew since it was opened
                raw += f.read(MAX_BYTES + 1 - len(raw))
        except OSError as e:
            raise _Skip("unreadable", f"cannot be read ({e.strerror})") from None
    if len(raw) > MAX_BYTES:
        raise _too_large(len(raw))
    return raw


def _too_large(size: int) -> _Skip:
    return _Skip("too large", f"{size / 2**20:.1f} MB is over the {MAX_BYTES // 2**20} MB limit for one article")


def decode(raw: bytes) -> tuple[str, str]:
    """Text with newlines as `open()` gives them, and the encoding that read it.

    Example: decode(b"caf\\xe9\\r\\n") == ("café\\n", "cp1252")
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates: tuple[str, ...] = ("utf-16", "cp1252", "latin-1")
    elif b"\x00" in raw[:4096]:
        candidates = _utf16_without_bom(raw[:4096])
        if not candidates:
            raise _Skip("binary", "binary file (NUL bytes), not text")
    else:
        candidates = ("utf-8", "cp1252", "latin-1")
    for candidate in candidates:
        try:
            text = raw.decode(candidate)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _Skip("binary", "binary file (undecodable), not text")
    if _looks_binary(text):
        raise _Skip("binary", "binary file (control characters), not text")
    return text.replace("\r\n", "\n").replace("\r", "\n"), candidate


def _utf16_without_bom(sample: bytes) -> tuple[str, ...]:
    """UTF-16 without a byte-order mark, told by its NUL bytes: every second byte of Latin text.

    Example: "Hi".encode("utf-16-le") == b"H\\x00i\\x00" -> ("utf-16-le",)
    """
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > len(odd) * 0.3 and even.count(0) <= len(even) * 0.01:
        return ("utf-16-le",)
    if even.count(0) > len(even) * 0.3 and odd.count(0) <= len(odd) * 0.01:
        return ("utf-16-be",)
    return ()


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f")
    return controls > len(sample) * 0.01
