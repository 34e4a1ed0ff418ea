"""The speed-and-scale benchmark works: every section measured and written, on a few BBC articles.

Correctness only: no figure is compared with a time (timings are the benchmark's job, not the tests').
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench import scale, stores
from bench.encoders import ours
from bench.scale_report import SECTIONS, render

BBC = stores.BBC
pytestmark = pytest.mark.skipif(not BBC.is_dir(), reason=f"the BBC corpus is not at {BBC}")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One tiny run of the whole benchmark: 3 BBC articles, the five articles, a real `qa serve`."""
    return scale.measure(scale.TINY, cache=tmp_path_factory.mktemp("cache"), corpus=BBC, log=lambda _: None)


def test_the_report_has_every_section_and_survives_json(results: dict, tmp_path: Path) -> None:
    report = render(json.loads(json.dumps(results)))
    for heading in SECTIONS:
        assert heading in report, heading
    assert not re.search(r"\bnan\b", report), "a figure is missing"
    assert "not measured" in report and "Skipped: no complete 100,000-chunk store" in report


def test_both_pipelines_index_the_same_articles(results: dict) -> None:
    ours_run, naive = results["indexing"]["ours"], results["indexing"]["naive"]
    assert ours_run["articles"] == naive["articles"] == 3
    assert ours_run["chunks"] > 0 and naive["chunks"] > 0 and ours_run["sentences"] > ours_run["chunks"]
    assert ours_run["peak_rss_mb"] > 50 and naive["peak_rss_mb"] > 50
    fast = results["indexing"]["fast"]  # `qa index --fast`: the same chunks, sentence vectors from their pass
    assert (fast["articles"], fast["chunks"], fast["sentences"]) == (3, ours_run["chunks"], ours_run["sentences"])
    assert {e["name"] for e in results["indexing"]["encoders"]["encoders"]} >= {"sentence-transformers (torch)"}


def test_reindexing_an_unchanged_corpus_embeds_nothing_and_an_edit_only_its_file(results: dict) -> None:
    reindex = results["reindex"]
    assert reindex["unchanged"]["embedded"] == 0 and reindex["unchanged"]["changed_files"] == 0
    assert len(reindex["edited_files"]) == 1
    assert reindex["changed"]["changed_files"] == 1 and reindex["changed"]["embedded"] >= 1


def test_latency_cold_start_and_chat_users_are_measured_without_errors(results: dict) -> None:
    five = results["latency"]["five"]
    assert len(five["ours"]["ask_ms"]) == len(five["naive"]["retrieve_ms"]) == 5
    assert five["ours"]["chunks"] > 0 and five["ours"]["abstained"] < 5
    assert len(results["cold"]["ask_s"]) == 1 and len(results["cold"]["naive_s"]) == 1
    served = results["serving"]["five"]
    for run in (served["one_user"], served["users"]):
        assert run["answers"] == 8 and run["error_count"] == 0
    assert served["users"]["users"] == 8
    assert 0 < served["warm_peak_rss_mb"] <= served["end_peak_rss_mb"]


def test_the_scale_store_is_built_from_copies_whose_citations_resolve_and_is_reused(tmp_path: Path) -> None:
    import qa

    corpus = tmp_path / "bbc"
    corpus.mkdir()
    for path in sorted(BBC.glob("*.txt"))[:3]:
        (corpus / path.name).write_bytes(path.read_bytes())
    vectors = stores.TextVectors(ours()[0])
    built = stores.ensure_100k(tmp_path / "cache", corpus, target=15, sizes=(200, 32), vectors=vectors, log=print)
    assert built.chunks >= 15 and not built.reused and json.loads((built.store / "READY").read_text())["chunks"]
    assert {p.name for p in built.articles.iterdir()} == {"c200", "c032"}  # 3 articles give fewer than 15 at 200
    assert list((built.store / "query-cache").iterdir())  # as `qa index` leaves a store: loading builds nothing
    answer = qa.load(articles=built.articles, store=built.store, build=False).ask("Who wants Michalak recalled?")
    assert answer.citations
    for c in answer.citations:
        assert (built.articles / c.source).read_text(encoding="utf-8")[c.start : c.end] == c.quote
    again = stores.ensure_100k(tmp_path / "cache", corpus, target=15, sizes=(200, 32))
    assert again.reused and again.chunks == built.chunks
    other = stores.ensure_100k(tmp_path / "cache", corpus, target=15, sizes=(200,), vectors=vectors, log=print)
    assert not other.reused and other.chunks < built.chunks  # another recipe: built again, old copies gone
    assert {p.name for p in other.articles.iterdir()} == {"c200"}
