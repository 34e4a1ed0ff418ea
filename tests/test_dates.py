"""Every article gets its publication date, stated or inferred, with the reasoning written down."""

from __future__ import annotations

import datetime as dt

import pytest

from index.dates import month_days, relative_dates, stated_date, years_named
from index.load import load_folder
from index.pipeline import date_articles, parse
from tests.conftest import ARTICLES

EXPECTED = {
    "000_3c12290efbff3d9b.txt": ("2016-06-29", "inferred"),  # "letter Monday" = 003's June 27 letter; call Wednesday
    "001_1dfbcbbfd773fe7a.txt": ("2016-08-09", "inferred"),  # the St Petersburg meeting 003 reports
    "002_93c4837e9acaa4b1.txt": ("2022-01-02", "stated"),  # URL ends in 02012022
    "003_357cf64761681100.txt": ("2016-08-09", "stated"),  # "News 09 Aug 16"
    "004_5df4bb0c1e35a75c.txt": ("2022-01-02", "inferred"),  # shares the Kremlin statement with 002
}


def test_dates_of_the_five_articles() -> None:
    files, _, _ = load_folder(ARTICLES)
    articles = [parse(f, 200) for f in files]
    date_articles(articles)
    got = {a.file.source: (a.dated.date.isoformat() if a.dated.date else None, a.dated.note) for a in articles}
    for source, (date, how) in EXPECTED.items():
        assert got[source][0] == date, f"{source}: {got[source]}"
        assert got[source][1].startswith(how), got[source][1]


def test_stated_date_forms() -> None:
    assert stated_date("Home Page\nNews 09 Aug 16\n")[0] == dt.date(2016, 8, 9)  # type: ignore[index]
    assert stated_date("Content retrieved from: https://x.net/a/02012022.")[0] == dt.date(2022, 1, 2)  # type: ignore[index]
    assert stated_date("see https://x.com/2021/03/04/story") [0] == dt.date(2021, 3, 4)  # type: ignore[index]
    assert stated_date("No date here.") is None


def test_dates_without_a_year_take_the_articles_year() -> None:
    assert month_days("On June 27, he wrote", dt.date(2016, 8, 9)) == [dt.date(2016, 6, 27)]
    # A month-day later in the year than publication happened the year before.
    assert month_days("since December 3", dt.date(2022, 1, 2)) == [dt.date(2021, 12, 3)]
    assert month_days("on March 5, 2020", dt.date(2022, 1, 2)) == [dt.date(2020, 3, 5)]


def test_the_years_a_sentence_names_are_read_against_its_article() -> None:
    published = dt.date(2016, 8, 9)
    assert years_named("He refused a meeting in Paris in November", published) == {2015}  # a month alone
    assert years_named("Relations soured last year, after June 27", published) == {2015, 2016}
    assert years_named("They met in Sochi, Sept. 29, 2021.", None) == {2021}
    assert years_named("It may rain", published) == set()


@pytest.mark.parametrize(
    ("sentence", "published", "expected"),
    [
        ("Putin called on Wednesday.", dt.date(2016, 6, 30), [("on Wednesday", "June 29, 2016")]),
        ("The attack at Tuesday's airport.", dt.date(2016, 6, 30), [("Tuesday", "June 28, 2016")]),
        ("They spoke on Thursday.", dt.date(2016, 6, 30), [("on Thursday", "June 30, 2016")]),
        ("Last month, Putin criticized Kyiv.", dt.date(2022, 1, 2), [("Last month", "December 2021")]),
        ("Turkey shot down a jet last November.", dt.date(2016, 6, 30), [("last November", "November 2015")]),
        ("Relations soured last year.", dt.date(2016, 8, 9), [("last year", "2015")]),
        ("It happened in November 2015.", dt.date(2016, 8, 9), []),
        ("Putin refused to meet him in Paris in November, then on Monday.", dt.date(2016, 8, 9),
         [("in November", "November 2015"), ("on Monday", "August 8, 2016")]),  # a month alone: the latest
        ("Talks began in August.", dt.date(2016, 8, 9), [("in August", "August 2016")]),  # ... not after publication
    ],
)
def test_relative_dates_are_read_against_the_article_date(sentence, published, expected) -> None:  # type: ignore[no-untyped-def]
    assert relative_dates(sentence, published) == expected
