"""A messy articles folder: good files are indexed; each bad one is skipped or read with ONE warning
line naming the file and the reason; `qa index` sums them up by reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from index.load import MAX_BYTES, list_folder, load_files, load_folder
from index.store import all_rows, open_collection
from qa.config import Settings
from tests.conftest import copy_articles

ORIGINAL = "000_3c12290efbff3d9b.txt"
TEXT = "Talks in Sochi about gas.\n\nThe leaders met again in Sochi to discuss the TurkStream pipeline.\n"


def _messy(folder: Path, outside: Path) -> dict[str, str]:
    """Bad files next to the five articles; returns {file: the reason or warning it must get}."""
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.md").write_text("  \n\t\n  ")
    (folder / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    (folder / "latin1.txt").write_bytes("Café talks in Ankara.\n\nThe président spoke of Antalya.\n".encode("latin-1"))
    (folder / "utf16-bom.txt").write_bytes(TEXT.encode("utf-16"))
    (folder / "utf16-nobom.md").write_bytes(TEXT.replace("Sochi", "Moscow").encode("utf-16-le"))
    with (folder / "huge.txt").open("wb") as f:
        f.truncate(50 * 2**20)  # 50 MB, sparse: costs no disk
    outside.write_text("Text outside the articles folder that must not be indexed.\n")
    (folder / "outside.txt").symlink_to(outside)
    (folder / "loop-a.txt").symlink_to("loop-b.txt")
    (folder / "loop-b.txt").symlink_to("loop-a.txt")
    (folder / "dangling.txt").symlink_to("nowhere.txt")
    (folder / "self").symlink_to(".")  # a folder link back to the folder: a loop if followed
    shutil.copy(folder / ORIGINAL, folder / "copy-of-000.txt")
    os.mkfifo(folder / "pipe.txt")  # reading it would wait forever
    return {
        "empty.txt": "skipped empty.txt: empty",
        "blank.md": "skipped blank.md: only whitespace",
        "image.txt": "skipped image.txt: binary file (NUL bytes), not text",
        "latin1.txt": "latin1.txt: not UTF-8, read as cp1252",
        "utf16-bom.txt": "utf16-bom.txt: not UTF-8, read as utf-16",
        "utf16-nobom.md": "utf16-nobom.md: not UTF-8, read as utf-16-le",
        "huge.txt": "skipped huge.txt: 50.0 MB is over the 10 MB limit for one article",
        "outside.txt": f"skipped outside.txt: symbolic link to {outside.resolve()}, outside the articles folder",
        "loop-a.txt": "skipped loop-a.txt: symbolic link loop",
        "loop-b.txt": "skipped loop-b.txt: symbolic link loop",
        "dangling.txt": "skipped dangling.txt: symbolic link to nowhere.txt, which does not exist",
        "self": "skipped self: link to a folder, not followed",
        "copy-of-000.txt": f"copy-of-000.txt: same text as {ORIGINAL}; both are indexed",
        "pipe.txt": "skipped pipe.txt: not a regular file (a pipe, socket or device)",
    }


def test_qa_index_skips_or_warns_once_per_bad_file_and_counts_them(tmp_path: Path) -> None:
    articles = copy_articles(tmp_path / "articles")
    expected = _messy(articles, tmp_path / "secret.txt")
    run = subprocess.run([sys.executable, "-m", "qa.cli", "index", "--articles", str(articles),
                          "--store", str(tmp_path / "store")], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if line.startswith("warning: ")]
    for name, line in expected.items():
        naming = [w for w in warnings if w.startswith(f"warning: skipped {name}:") or w.startswith(f"warning: {name}:")]
        assert len(naming) == 1 and line in naming[0], (name, naming)
    assert len(warnings) == len(expected)
    assert "Traceback" not in run.stderr
    assert run.stdout.splitlines()[0] == (
        "added 9, updated 0, removed 0, kept 0, skipped 10 files (1 binary, 1 broken link, 2 empty, 2 link loop, "
        "1 link outside, 1 linked folder, 1 not a file, 1 too large); 28 chunks embedded, 0 reused, 0 deleted, "
        "28 in the index from 9 files; 4 warnings"
    )
    settings = Settings(articles=articles, store=tmp_path / "store")
    stored = {m["source"]: m["encoding"] for _, m in all_rows(open_collection(settings), ["metadatas"])}
    assert stored == {**{p.name: "utf-8" for p in sorted(articles.glob("0*.txt"))}, "copy-of-000.txt": "utf-8",
                      "latin1.txt": "cp1252", "utf16-bom.txt": "utf-16", "utf16-nobom.md": "utf-16-le"}
    for name, encoding in stored.items():  # every chunk is the file's text, as `open()` reads it
        page = open_collection(settings).get(where={"source": name}, include=["documents", "metadatas"])
        text = (articles / name).read_text(encoding=encoding)
        assert all(text[m["start"] : m["end"]] == d for d, m in zip(page["documents"], page["metadatas"]))


def test_a_50_mb_file_is_refused_without_being_read(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text(TEXT)
    with (tmp_path / "huge.txt").open("wb") as f:
        f.truncate(50 * 2**20)
    tracemalloc.start()
    files, skipped, _ = load_folder(tmp_path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [f.source for f in files] == ["ok.txt"] and [s.kind for s in skipped] == ["too large"]
    assert peak < MAX_BYTES // 10, f"{peak:,} bytes allocated: the file was read"


def test_a_file_deleted_between_listing_and_reading_is_skipped_as_deleted(tmp_path: Path) -> None:
    folder = copy_articles(tmp_path / "articles")
    paths, _ = list_folder(folder)
    (folder / "002_93c4837e9acaa4b1.txt").unlink()  # the race, made deterministic: after listing, before reading
    files, skipped, warnings = load_files(folder, paths)
    assert [(s.source, s.reason, s.kind) for s in skipped] == [("002_93c4837e9acaa4b1.txt", "deleted while indexing",
                                                                 "deleted")]
    assert len(files) == 4 and warnings == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file anyway; run as a user to test this")
def test_an_unreadable_file_is_skipped_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text(TEXT)
    (tmp_path / "secret.txt").write_text(TEXT)
    (tmp_path / "secret.txt").chmod(0)
    files, skipped, _ = load_folder(tmp_path)
    assert [f.source for f in files] == ["ok.txt"]
    assert [(s.source, s.reason) for s in skipped] == [("secret.txt", "cannot be read (Permission denied)")]


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [("Çay ve simit.\n".encode("utf-16-be"), "utf-16-be"), ("Çay ve simit.\n".encode("utf-16-le"), "utf-16-le"),
     ("Çay ve simit.\n".encode("utf-16"), "utf-16"), (b"caf\xe9\r\n", "cp1252")],
)
def test_utf16_with_or_without_byte_order_mark_and_latin1_are_decoded(raw: bytes, encoding: str) -> None:
    from index.load import decode

    text, used = decode(raw)
    assert used == encoding and text == raw.decode(encoding).replace("\r\n", "\n")


def test_a_3_mb_article_of_one_paragraph_is_split_into_exact_sentences_and_chunks(tmp_path: Path) -> None:
    """NLTK gives up on one regex search after 5 s; a paragraph of megabytes is read in bounded pieces."""
    from index.pipeline import parse

    unit = "Mr. Smith met Dr. Jones at 3 p.m. in Ankara. Yes. No. "
    body = (unit * (3_000_000 // len(unit) + 1))[:3_000_000].strip()
    (tmp_path / "long.txt").write_text(f"A long day in Ankara\n\n{body}\n")
    files, _, _ = load_folder(tmp_path)
    article = parse(files[0], chunk_tokens=200)
    text = files[0].text
    sentences = [s for c in article.chunks for s in c.sentences]
    assert text[article.chunks[-1].end - 20 : article.chunks[-1].end] == body[-20:]
    assert all(text[s.start : s.end] == text[s.start : s.end].strip() != "" for s in sentences)
    between = [text[a.end : b.start] for a, b in zip(sentences, sentences[1:])]
    assert all(not gap.strip() for gap in between)  # nothing of the paragraph is lost between sentences
    assert max(s.end - s.start for s in sentences) < 100  # split at its full stops, not in blind pieces


def test_invisible_characters_inside_words_neither_hide_them_nor_shift_the_quotes(fresh: Settings) -> None:
    """Soft hyphens, zero-width spaces and word joiners, in an article or in a question, are folded for matching."""
    import qa

    text = ("Zoo news from the capital\n\nThe An\u00adka\u00adra zoo wel\u200bcomed a giant panda named Mei\u200bling "
            "on Friday, the city said.\n")
    (fresh.articles / "zoo.txt").write_text(text)
    engine = qa.load(settings=fresh)
    for question in ("Who is Meiling?", "Which zoo wel\u00adcomed Mei\u2060ling?", "Who is Mei\u200bling?"):
        answer = engine.ask(question)
        assert not answer.abstained and answer.citations[0].source == "zoo.txt", (question, answer.text)
        cited = answer.citations[0]
        assert text[cited.start : cited.end] == cited.quote and "Mei\u200bling" in cited.quote
