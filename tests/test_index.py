"""Indexing is idempotent, changes only what changed, and keeps exact offsets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index import build_index, manifest, pipeline
from index.load import load_folder
from index.store import all_rows, open_collection, open_sentences, writer_lock
from qa.config import Settings
from qa.errors import CorpusError, IndexBusy, IndexMismatch


def stored(settings: Settings) -> dict[str, dict]:
    return dict(all_rows(open_collection(settings), ["metadatas"]))


def test_second_run_changes_nothing(fresh: Settings) -> None:
    first = build_index(fresh)
    assert len(first.added) == 5 and first.chunks_embedded > 0
    before = stored(fresh)
    second = build_index(fresh)
    assert (second.added, second.updated, second.removed) == ([], [], [])
    assert len(second.kept) == 5 and second.chunks_embedded == 0
    assert stored(fresh) == before


def test_an_unchanged_corpus_is_not_parsed_again(fresh: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    build_index(fresh)
    before = stored(fresh)
    parsed: list[str] = []
    real_parse = pipeline.parse
    monkeypatch.setattr(pipeline, "parse", lambda f, n: parsed.append(f.source) or real_parse(f, n))
    again = build_index(fresh)
    assert parsed == [] and len(again.kept) == 5 and again.chunks_total == len(before) and not again.wrote
    path = fresh.articles / "002_93c4837e9acaa4b1.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    assert build_index(fresh).updated == ["002_93c4837e9acaa4b1.txt"] and len(parsed) == 5


def test_no_record_of_a_complete_run_exists_while_a_run_writes(fresh: Settings,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    build_index(fresh)
    record = fresh.store / "indexed.json"
    assert record.exists()
    path = fresh.articles / "002_93c4837e9acaa4b1.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    seen: list[bool] = []

    def killed(*args: object) -> None:
        seen.append(record.exists())
        raise OSError("killed while writing")

    monkeypatch.setattr(pipeline, "_sync", killed)
    with pytest.raises(OSError):
        build_index(fresh)
    assert seen == [False] and not record.exists()  # a crash here leaves the next run to compare everything
    monkeypatch.undo()
    assert build_index(fresh).updated == ["002_93c4837e9acaa4b1.txt"] and record.exists()


def test_a_run_that_dies_keeps_the_slices_it_wrote(fresh: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "SLICE", 5)
    real_pass, passes = pipeline._chunk_pass, []

    def dies_on_the_third_slice(*args: object, **kwargs: object) -> object:
        passes.append(len(args[1]))  # type: ignore[arg-type]
        if len(passes) == 3:
            raise OSError("killed while embedding")
        return real_pass(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_chunk_pass", dies_on_the_third_slice)
    with pytest.raises(OSError):
        build_index(fresh)
    assert len(stored(fresh)) == 10  # two slices of 5, each with its sentences
    monkeypatch.setattr(pipeline, "_chunk_pass", real_pass)
    again = build_index(fresh)
    assert again.chunks_embedded == again.chunks_total - 10 > 0
    assert len(stored(fresh)) == again.chunks_total
    assert open_sentences(fresh).count() == sum(len(json.loads(m["sentences"])) for m in stored(fresh).values())


def test_changed_parsing_code_means_a_full_comparison(fresh: Settings, monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    files = load_folder(fresh.articles)[0]
    code = tmp_path / "code"
    shutil.copytree(Path(manifest.__file__).parent, code)
    monkeypatch.setattr(manifest, "_HERE", code)
    same = manifest.fingerprint(files, fresh)
    (code / "clean.py").write_text((code / "clean.py").read_text() + "\n# a new cleaning rule\n")
    assert manifest.fingerprint(files, fresh) != same
    assert manifest.fingerprint(files[1:], fresh) != same


def test_editing_one_file_replaces_only_its_chunks(fresh: Settings) -> None:
    build_index(fresh)
    before = stored(fresh)
    path = fresh.articles / "002_93c4837e9acaa4b1.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("NATO member since 1952", "NATO member since 1952 (sic)"))
    report = build_index(fresh)
    after = stored(fresh)
    assert report.updated == ["002_93c4837e9acaa4b1.txt"] and not report.added and not report.removed
    changed = {m["source"] for i, m in before.items() if i not in after} | {
        m["source"] for i, m in after.items() if i not in before
    }
    assert changed == {"002_93c4837e9acaa4b1.txt"}
    assert 0 < report.chunks_embedded < len(after)


def test_a_new_headline_of_the_same_length_gives_every_chunk_a_new_vector(fresh: Settings, tmp_path: Path) -> None:
    """The headline is embedded in front of every chunk: the later chunks keep their text and offsets (and
    IDs), but not their vectors."""
    build_index(fresh)
    path = fresh.articles / "000_3c12290efbff3d9b.txt"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("President Erdogan, Putin discuss bilateral relations")
    path.write_text(text.replace("discuss", "examine", 1), encoding="utf-8")
    report = build_index(fresh)
    chunks = [cid for cid, m in stored(fresh).items() if m["source"] == path.name]
    assert report.updated == [path.name] and report.chunks_embedded == len(chunks) > 1

    again = Settings(articles=fresh.articles, store=tmp_path / "from-scratch")
    build_index(again)
    for opened in (open_collection, open_sentences):  # the vectors a fresh index of the new text has
        ours, theirs = vectors(opened(fresh)), vectors(opened(again))
        assert ours.keys() == theirs.keys()
        assert min(float(np.dot(ours[k], theirs[k])) for k in ours) > 0.9999


def vectors(collection: Any) -> dict[str, np.ndarray]:
    got = collection.get(include=["embeddings"])
    return dict(zip(got["ids"], got["embeddings"]))


def test_deleted_file_loses_its_chunks_and_sentences(fresh: Settings) -> None:
    build_index(fresh)
    (fresh.articles / "003_357cf64761681100.txt").unlink()
    report = build_index(fresh)
    assert report.removed == ["003_357cf64761681100.txt"]
    assert all(m["source"] != "003_357cf64761681100.txt" for m in stored(fresh).values())
    chunks = set(stored(fresh))
    rows = [row for row, _ in all_rows(open_sentences(fresh), include=[])]
    assert rows and all(row.rsplit(":", 1)[0] in chunks for row in rows)


def test_same_text_under_two_names_is_stored_once_per_source(fresh: Settings) -> None:
    text = (fresh.articles / "000_3c12290efbff3d9b.txt").read_text(encoding="utf-8")
    (fresh.articles / "sub").mkdir()
    (fresh.articles / "sub" / "copy.md").write_text(text, encoding="utf-8")
    build_index(fresh)
    rows = stored(fresh).values()
    original = sorted(m["start"] for m in rows if m["source"] == "000_3c12290efbff3d9b.txt")
    copy = sorted(m["start"] for m in rows if m["source"] == "sub/copy.md")
    assert original == copy and original
    report = build_index(fresh)
    assert report.chunks_embedded == 0


def test_every_chunk_and_sentence_is_the_file_text_at_its_offsets(settings: Settings) -> None:
    collection = open_collection(settings)
    page = collection.get(include=["documents", "metadatas"])
    assert page["ids"]
    for doc, meta in zip(page["documents"], page["metadatas"]):
        original = (settings.articles / meta["source"]).read_text(encoding="utf-8")
        assert original[meta["start"] : meta["end"]] == doc
        for a, b in json.loads(meta["sentences"]):
            sentence = original[meta["start"] + a : meta["start"] + b]
            assert sentence and sentence == doc[a:b]


def test_chunks_fit_the_model_window(settings: Settings) -> None:
    from index.encoder import MAX_TOKENS, default_encoder

    docs = open_collection(settings).get(include=["documents"])["documents"]
    assert max(default_encoder().count_tokens(d) for d in docs) <= MAX_TOKENS - 2


def test_metadata_is_on_every_chunk(settings: Settings) -> None:
    metas = list(stored(settings).values())
    assert all(m["title"] and m["date"] and m["date_note"] for m in metas)
    by_source = {m["source"]: m for m in metas}
    assert by_source["001_1dfbcbbfd773fe7a.txt"]["outlet"] == "Anadolu Agency"
    assert by_source["002_93c4837e9acaa4b1.txt"]["outlet"] == "Rudaw"
    assert by_source["003_357cf64761681100.txt"]["title"] == "Russian, Turkish Presidents Meet to ‘Reset’ Relations"


def test_store_built_with_other_settings_asks_for_a_reindex(settings: Settings) -> None:
    from dataclasses import replace

    with pytest.raises(IndexMismatch, match="Re-index"):
        open_collection(replace(settings, chunk_tokens=100))


def test_second_writer_is_told_another_is_running(fresh: Settings) -> None:
    with writer_lock(fresh), pytest.raises(IndexBusy, match="Another `qa index`"):
        build_index(fresh)


def test_missing_articles_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="--articles"):
        build_index(Settings(articles=tmp_path / "nope", store=tmp_path / "store"))


def test_other_encodings_are_read_with_a_warning(fresh: Settings) -> None:
    (fresh.articles / "latin1.txt").write_bytes("Café talks in Ankara.\n\nThe président spoke.\n".encode("latin-1"))
    (fresh.articles / "utf16.md").write_text("Talks in Sochi.\n\nThe leaders met again.\n", encoding="utf-16")
    report = build_index(fresh)
    assert any(w.startswith("latin1.txt: not UTF-8") for w in report.warnings)
    assert {"latin1.txt", "utf16.md"} <= set(report.added)
    rows = [m for m in stored(fresh).values() if m["source"] == "latin1.txt"]
    original = (fresh.articles / "latin1.txt").read_text(encoding=rows[0]["encoding"])
    texts = [original[m["start"] : m["end"]] for m in rows]
    assert texts and all("Café" in t or "président" in t for t in texts)
