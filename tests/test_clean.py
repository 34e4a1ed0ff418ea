"""Cleaning keeps every paragraph of the article proper and none of the page around it."""

from __future__ import annotations

from typing import Any

import pytest

import index.clean as clean_module
from bench.cleaning import all_pairs_clean, text_of
from index.clean import clean
from tests.conftest import ARTICLES

BOILERPLATE = [
    "WARNING: Comments that contain insults",  # reader-comment rules (000)
    "Anadolu Agency\n",  # closing agency line (000)
    "Tags: russia",  # tag list (001)
    "Posted in Russia News",  # byline furniture (001)
    "Also in Turkey",  # link block (002)
    "Armenia to lift embargo on Turkish goods",  # ... its links
    "A+A-",
    "Content retrieved from",
    "About The Author",
    "blog comments powered by Disqus",  # (003)
    "Premium Selection",
    "Latest News from the Balkans",
    "Russia Slaps New Ban on Bosnian Apples",
    "Ska Keller",  # a teaser inside the link block
    "Talk about it!",
    "Home Page",
]

# Paragraphs of the articles proper, one or more per file, that must survive cleaning.
KEPT = {
    "000_3c12290efbff3d9b.txt": [
        "Turkish and Russian leaders held a phone call Wednesday",
        "more than 40 people, including foreigners, were killed",
        "in which dozens of people were killed and hundreds injured",  # agrees with "more than 40": kept
        "Erdogan sent Putin a letter Monday",
        "They will also meet during the summit in Hangzhou, the official said.",
    ],
    "001_1dfbcbbfd773fe7a.txt": [
        "Russia's Putin and Turkey's Erdoğan meet for first time since ties deteriorated last November.",
        "On June 30, Russia lifted a ban on tourist flights to Turkey",
        "On July 22, Russia also lifted restrictions on flights to Turkey",
    ],
    "002_93c4837e9acaa4b1.txt": [
        "Russian President Vladimir Putin and his Turkish counterpart Recep Tayyip Erdogan at the Kremlin",
        "on Sunday pledged to improve ties during a call",
        "Russia wants NATO to provide Moscow with a binding security guarantee",
    ],
    "003_357cf64761681100.txt": [
        "Russian, Turkish Presidents Meet to ‘Reset’ Relations",
        "But hints that relations could be mended came after the failed coup attempt on June 18",
        "Ankara submitted an application to join the EU in 1987",
    ],
    "004_5df4bb0c1e35a75c.txt": [
        "President Recep Tayyip Erdoğan attends a meeting with Vladimir Putin in Sochi",
        "The region is one of the several sources of friction between Russia and Ukraine.",
    ],
}


def cleaned_text(name: str) -> str:
    text = (ARTICLES / name).read_text(encoding="utf-8")
    return "\n".join(text[p.start : p.end] for p in clean(text).paragraphs) + "\n"


@pytest.mark.parametrize("name", sorted(KEPT))
def test_no_boilerplate_survives(name: str) -> None:
    text = cleaned_text(name)
    for junk in BOILERPLATE:
        assert junk not in text, f"{name}: {junk!r} should have been cleaned away"


@pytest.mark.parametrize("name", sorted(KEPT))
def test_article_paragraphs_are_kept(name: str) -> None:
    text = cleaned_text(name)
    for line in KEPT[name]:
        assert line in text, f"{name}: article text {line!r} was dropped"


def test_repeated_title_and_caption_appear_once() -> None:
    assert cleaned_text("000_3c12290efbff3d9b.txt").count("discuss bilateral relations over phone") == 1
    assert cleaned_text("002_93c4837e9acaa4b1.txt").count("at the Kremlin in Moscow on March 5, 2020") == 1


def test_near_verbatim_quote_is_dropped_once() -> None:
    # 000 gives the statement twice: straight quotes + "taking necessary steps", then curly quotes
    # + "taking the necessary steps". The second is a repeat.
    assert cleaned_text("000_3c12290efbff3d9b.txt").count("pointed to the importance of holding cooperation") == 1


def test_glued_section_label_is_trimmed_not_rewritten() -> None:
    text = (ARTICLES / "002_93c4837e9acaa4b1.txt").read_text(encoding="utf-8")
    starts = [text[p.start : p.end][:20] for p in clean(text).paragraphs]
    assert "Russian President Vl" in starts and not any(s.startswith("TURKEY") for s in starts)


def test_every_kept_span_is_the_original_text() -> None:
    for name in KEPT:
        text = (ARTICLES / name).read_text(encoding="utf-8")
        for p in clean(text).paragraphs:
            assert text[p.start : p.end].strip() == text[p.start : p.end] != ""



def test_finding_repeats_compares_each_paragraph_with_few_others(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cleaning stays near-linear: a 4,000-paragraph page is not compared pair by pair (8 million pairs)."""
    compared = 0
    real = clean_module.SequenceMatcher

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal compared
        compared += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(clean_module, "SequenceMatcher", counting)
    clean(text_of(4000))  # one paragraph in ten a near-verbatim repeat of an earlier one
    assert 0 < compared < 1000  # about one comparison per repeat


def test_repeats_found_by_the_index_are_those_every_pair_compared_finds() -> None:
    text = text_of(1200)
    assert len(clean(text).paragraphs) == all_pairs_clean(text) < 1200
