"""A damaged store: `qa ask` says in one line how to rebuild (or rebuilds what is simply missing, saying
so), the command it names works, and nothing the user might want is deleted."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import qa
from index.store import all_rows, open_sentences
from qa.config import Settings
from tests.conftest import copy_articles

QUESTION = "When did Russia lift the ban on tourist flights to Turkey?"


def _qa(*args: str, settings: Settings) -> subprocess.CompletedProcess[str]:
    paths = ["--articles", str(settings.articles), "--store", str(settings.store)]
    return subprocess.run([sys.executable, "-m", "qa.cli", *args, *paths], capture_output=True, text=True,
                          timeout=600)


def _answers(settings: Settings) -> None:
    a = qa.load(settings=settings, build=False).ask(QUESTION)
    assert "June 30" in a.text and a.citations[0].source == "001_1dfbcbbfd773fe7a.txt"


def _copy(settings: Settings, root: Path) -> Settings:
    shutil.copytree(settings.store, root / "store")
    return Settings(articles=settings.articles, store=root / "store")


def _drop(name: str) -> Callable[[Path], None]:
    def drop(store: Path) -> None:
        import chromadb

        client = chromadb.PersistentClient(path=str(store))
        client.delete_collection(name)
        client.close()

    return drop


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda store: shutil.rmtree(store), "No index at {store} yet. Run `qa index` to build it. Running it now."),
        (_drop("articles"), "No index at {store} yet. Run `qa index` to build it. Running it now."),
        (_drop("articles-sentences"), "The store at {store} has no sentence vectors. Run `qa index` to add them. "
                                      "Running it now."),
    ],
    ids=["store-deleted", "chunks-collection-deleted", "sentences-collection-deleted"],
)
def test_a_missing_index_or_part_of_one_is_built_by_qa_ask_saying_so(settings: Settings, tmp_path: Path,
                                                                     damage: Callable[[Path], None],
                                                                     said: str) -> None:
    copy = _copy(settings, tmp_path)
    clean_sentences = {i for i, _ in all_rows(open_sentences(settings), include=[])}
    damage(copy.store)
    asked = _qa("ask", QUESTION, settings=copy)
    assert asked.returncode == 0, asked.stderr
    assert asked.stderr.splitlines()[0] == "qa: " + said.format(store=copy.store)
    assert "June 30" in asked.stdout and "Traceback" not in asked.stderr
    assert {i for i, _ in all_rows(open_sentences(copy), include=[])} == clean_sentences


def _truncate(store: Path) -> None:
    with (store / "chroma.sqlite3").open("r+b") as f:
        f.truncate(1000)


def _garbage(store: Path) -> None:
    size = (store / "chroma.sqlite3").stat().st_size
    (store / "chroma.sqlite3").write_bytes(os.urandom(size))


@pytest.mark.parametrize("damage", [_truncate, _garbage], ids=["sqlite-truncated", "sqlite-garbage"])
def test_a_corrupt_store_is_moved_aside_by_qa_index_rebuild(settings: Settings, tmp_path: Path,
                                                           damage: Callable[[Path], None]) -> None:
    copy = _copy(settings, tmp_path)
    damage(copy.store)
    damaged = (copy.store / "chroma.sqlite3").read_bytes()
    for command in (["ask", QUESTION], ["index"]):  # neither deletes nor moves anything
        out = _qa(*command, settings=copy)
        assert out.returncode == 2 and out.stdout == "" and len(out.stderr.splitlines()) == 1, out.stderr
        assert out.stderr.startswith(f"qa: The store at {copy.store} cannot be opened (")
        assert out.stderr.rstrip().endswith(f"Rebuild it with `qa index --rebuild --store {copy.store}`.")
    rebuilt = _qa("index", "--rebuild", settings=copy)
    assert rebuilt.returncode == 0, rebuilt.stderr
    [aside] = list(tmp_path.glob("store.broken-*"))
    assert f"qa: The store could not be opened; it was moved to {aside} and built anew." in rebuilt.stderr
    assert (aside / "chroma.sqlite3").read_bytes() == damaged  # kept as it was, for the user to look at
    assert rebuilt.stdout.startswith("added 5, updated 0, removed 0, kept 0")
    _answers(copy)


def _notes(folder: Path, articles: int = 20, sentences: int = 56) -> None:
    """Short distinct sentences ("Nils painted the museum in Sivas on day 3."): many rows, cheap to embed."""
    rng = random.Random(7)
    names, verbs = "Mara Lena Omar Ines Pavel Yusuf Greta Hana".split(), "opened closed painted sold moved".split()
    things, places = "bakery bridge library garden kiosk museum".split(), "Izmir Bursa Konya Mersin Sivas Van".split()
    for a in range(articles):
        said = [f"{rng.choice(names)} {rng.choice(verbs)} the {rng.choice(things)} in {rng.choice(places)} on day "
                f"{a * sentences + i}." for i in range(sentences)]
        paragraphs = [" ".join(said[i : i + 4]) for i in range(0, sentences, 4)]
        (folder / f"notes-{a:02d}.txt").write_text(f"Town notes {a}\n\n" + "\n\n".join(paragraphs) + "\n")


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Over 1,000 sentence vectors: Chroma then keeps them in HNSW files instead of replaying its log."""
    from index import build_index

    root = tmp_path_factory.mktemp("large")
    folder = copy_articles(root / "articles")
    _notes(folder)
    settings = Settings(articles=folder, store=root / "store")
    build_index(settings)
    assert open_sentences(settings).count() > 1000
    return settings


def test_deleted_vector_index_files_are_reported_and_rebuilt(large: Settings, tmp_path: Path) -> None:
    copy = Settings(articles=tmp_path / "articles", store=tmp_path / "store")
    shutil.copytree(large.articles, copy.articles)
    shutil.copytree(large.store, copy.store)
    segments = [p for p in copy.store.iterdir() if p.is_dir() and (p / "header.bin").exists()]
    assert segments
    for segment in segments:
        shutil.rmtree(segment)
    asked = _qa("ask", QUESTION, settings=copy)  # answering reads sentence vectors from the query cache
    assert asked.returncode == 0 and "June 30" in asked.stdout, asked.stderr
    (copy.articles / "zz_new.txt").write_text("Putin and Erdogan met in Sochi. They talked about grain.\n")
    indexed = _qa("index", settings=copy)  # writing needs the vector index: the damage is found here
    assert indexed.returncode == 2 and "Traceback" not in indexed.stderr, indexed.stderr
    [line] = [line for line in indexed.stderr.splitlines() if line.startswith("qa: ")]
    assert line.startswith(f"qa: The store at {copy.store} is damaged (")
    assert line.endswith(f"Rebuild it with `qa index --rebuild --store {copy.store}`.")
    for notes in copy.articles.glob("notes-*.txt"):  # the rebuild needs not re-embed them to prove it works
        notes.unlink()
    rebuilt = _qa("index", "--rebuild", settings=copy)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "moved" not in rebuilt.stderr  # the store opened, so its collections were dropped, not moved
    assert rebuilt.stdout.startswith("added 6, updated 0, removed 0, kept 0")
    _answers(copy)


def _begun(settings: Settings) -> None:
    """What a first `qa index` leaves before its first slice of chunks is written: empty collections."""
    from index.store import open_collection

    open_collection(settings, create=True)
    open_sentences(settings, create=True)


def test_an_index_left_empty_by_a_run_that_crashed_is_completed_by_qa_ask_saying_so(settings: Settings,
                                                                                      tmp_path: Path) -> None:
    empty = Settings(articles=settings.articles, store=tmp_path / "store")
    _begun(empty)
    with pytest.raises(qa.QAError, match=r"is empty: the `qa index` that began it did not finish\. Run `qa index`"):
        qa.load(settings=empty, build=False)
    asked = _qa("ask", QUESTION, settings=empty)
    assert asked.returncode == 0, asked.stderr
    assert asked.stderr.splitlines()[0] == (f"qa: The index at {empty.store} is empty: the `qa index` that began "
                                            "it did not finish. Run `qa index` to complete it. Running it now.")
    assert "June 30" in asked.stdout


def test_an_index_being_built_says_so_instead_of_answering_that_the_articles_dont_say(settings: Settings,
                                                                                       tmp_path: Path) -> None:
    from index.store import writer_lock

    empty = Settings(articles=settings.articles, store=tmp_path / "store")
    _begun(empty)
    with writer_lock(empty):  # a `qa index --rebuild` at work
        asked = _qa("ask", QUESTION, settings=empty)
        with pytest.raises(qa.QAError, match="is being built by `qa index`"):
            qa.load(settings=empty)
    assert asked.returncode == 2 and asked.stdout == "", asked.stdout
    assert asked.stderr.splitlines() == [f"qa: The index at {empty.store} is being built by `qa index` and is empty "
                                         "so far; ask again when it finishes."]


def test_an_index_of_a_folder_where_nothing_could_be_indexed_says_so(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "empty.txt").write_text("")
    empty = Settings(articles=articles, store=tmp_path / "store")
    assert _qa("index", settings=empty).returncode == 0
    asked = _qa("ask", QUESTION, settings=empty)
    assert asked.returncode == 2 and asked.stdout == ""
    assert asked.stderr.splitlines()[-1] == (f"qa: The index at {empty.store} holds no article: no file in "
                                             f"{articles} could be indexed. Add .txt or .md articles there and "
                                             "run `qa index`.")


def test_binary_bytes_in_the_generation_marker_are_a_token_like_any_other(tmp_path: Path) -> None:
    from index.store import generation

    store = tmp_path / "store"
    store.mkdir()
    (store / "generation").write_bytes(b"\xff\xfe\x00\x9c garbage")
    assert generation(Settings(store=store)) != ""  # read without an error, so a server's watcher keeps watching


@pytest.mark.parametrize("name", ["indexed.json", "index.lock"])
def test_a_folder_where_qa_index_keeps_a_file_is_named_in_one_line_and_left_alone(settings: Settings,
                                                                                tmp_path: Path, name: str) -> None:
    copy = _copy(settings, tmp_path)
    (copy.store / name).unlink(missing_ok=True)
    (copy.store / name / "mine").mkdir(parents=True)
    shutil.copytree(settings.articles, tmp_path / "articles")
    (tmp_path / "articles" / "new.txt").write_text("Talks in Sochi.\n\nThe leaders met in Sochi to discuss gas.\n")
    out = _qa("index", settings=Settings(articles=tmp_path / "articles", store=copy.store))
    assert out.returncode == 2 and out.stdout == "", out.stderr
    assert out.stderr.splitlines() == [f"qa: {copy.store / name} is a folder, where `qa index` keeps a file of that "
                                       "name. Move the folder away and run again."]
    assert (copy.store / name / "mine").is_dir()
    _answers(copy)


@pytest.fixture
def read_only(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A copy of the store that this user cannot write: a read-only bind mount for root, else permissions."""
    copy = _copy(settings, tmp_path)
    if os.geteuid() != 0:
        subprocess.run(["chmod", "-R", "a-w", str(copy.store)], check=True)
        yield copy
        subprocess.run(["chmod", "-R", "u+w", str(copy.store)], check=True)
        return
    mounted = Settings(articles=copy.articles, store=tmp_path / "mounted")
    mounted.store.mkdir()
    binds = [["mount", "--bind", str(copy.store), str(mounted.store)],
             ["mount", "-o", "remount,bind,ro", str(mounted.store)]]
    if any(subprocess.run(b, capture_output=True).returncode for b in binds):
        subprocess.run(["umount", str(mounted.store)], capture_output=True)
        pytest.skip("root without the right to mount: a read-only store cannot be made")
    try:
        yield mounted
    finally:
        subprocess.run(["umount", str(mounted.store)], check=True)


def test_a_read_only_store_is_named_as_such_and_rebuilding_is_not_advised(read_only: Settings) -> None:
    before = sorted((p.name, p.stat().st_size) for p in read_only.store.rglob("*") if p.is_file())
    for command in (["ask", QUESTION], ["index"]):
        out = _qa(*command, settings=read_only)
        assert out.returncode == 2 and out.stdout == "", out.stderr
        [line] = [ln for ln in out.stderr.splitlines() if not ln.startswith("qa: offline")]
        assert line.startswith(f"qa: The store at {read_only.store} is read-only for this user (")
        assert "--rebuild" not in line and "chmod -R u+w" in line and "QA_STORE" in line
    assert sorted((p.name, p.stat().st_size) for p in read_only.store.rglob("*") if p.is_file()) == before
