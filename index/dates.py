"""Dates: find or infer each article's publication date, and read dates inside sentences.

An article's date is, in order of trust:
1. stated: a dateline ("News 09 Aug 16") or a source URL ending in a date (".../02012022");
2. same story: an article with a known date shares a near-verbatim sentence, or tells the same
   story (lede embeddings close), and nothing in this article is dated later than that date;
3. anchored: a weekday in this article ("sent a letter Monday") names an event that another
   article dates ("On June 27, Erdogan sent a letter"), and that date is that weekday; the
   article's other weekdays ("a phone call Wednesday") are then the days that follow.
Every inference is written down in `note`, so a reader can check it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

MONTHS = {
    m: i + 1
    for i, names in enumerate(
        ["jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july",
         "aug august", "sep sept september", "oct october", "nov november", "dec december"]
    )
    for m in names.split()
}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTH = (
    r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
FULL_DATE = re.compile(rf"\b{_MONTH} (\d{{1,2}}), (\d{{4}})\b")  # March 5, 2020
MONTH_DAY = re.compile(rf"\b{_MONTH} (\d{{1,2}})(?:st|nd|rd|th)?\b(?!,? \d{{4}})")  # July 15
MONTH_YEAR = re.compile(rf"\b{_MONTH} (\d{{4}})\b")  # November 2015
# A month named without a day or a year: "refused a meeting ... in November".
BARE_MONTH = re.compile(r"\b(?:in|since|until|by|early|late|mid-?)\s+(January|February|March|April|May|June|July|"
                        r"August|September|October|November|December)\b(?!\s*\d)")
WEEKDAY = re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
_DATELINE = re.compile(r"^News (\d{1,2}) ([A-Z][a-z]{2}) (\d{2})$", re.M)
_URL_DATE = re.compile(r"https?://\S*?/(\d{2})(\d{2})(20\d{2})\b|https?://\S*?/(20\d{2})/(\d{2})/(\d{2})/")
SAME_STORY_COSINE = 0.75  # lede similarity above which two articles may report the same event
SAME_STORY_MARGIN = 0.04  # ... and by which it must beat every other dated article
_STOP = set("a an the of to in on and or for by with at from as that this his her its their was were is are be "
            "had has have he she it they said says after before".split())


@dataclass
class Dated:
    """What one article says about time: the inputs of the inference, and its result."""

    source: str
    lede: str  # title and first paragraphs, for same-story matching
    sentences: list[str]
    date: dt.date | None = None
    note: str = ""
    latest_mentioned: dt.date | None = None  # no publication date can be earlier than this
    vector: Sequence[float] | None = field(default=None, repr=False)


def stated_date(text: str) -> tuple[dt.date, str] | None:
    """A date the page itself gives. Example: "News 09 Aug 16" -> (2016-08-09, ...)."""
    m = _DATELINE.search(text)
    if m and m.group(2).lower() in MONTHS:
        day, month, year = int(m.group(1)), MONTHS[m.group(2).lower()], 2000 + int(m.group(3))
        found = _safe(year, month, day)
        if found:
            return found, f"stated in the dateline {m.group(0)!r}"
    m = _URL_DATE.search(text)
    if m:
        if m.group(1):
            day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        else:
            year, month, day = int(m.group(4)), int(m.group(5)), int(m.group(6))
        found = _safe(year, month, day)
        if found:
            return found, f"stated in the source URL {m.group(0)!r}"
    return None


def latest_full_date(sentences: list[str]) -> dt.date | None:
    """The latest complete date mentioned (captions included): the article is no older."""
    found = [
        _safe(int(m.group(3)), MONTHS[m.group(1).lower()], int(m.group(2)))
        for s in sentences
        for m in FULL_DATE.finditer(s)
    ]
    return max((d for d in found if d), default=None)


def infer_dates(articles: list[Dated], similarity: Callable[[Dated, Dated], float]) -> None:
    """Fill `date` and `note` of articles that state no date, from the ones that do."""
    for _ in range(len(articles)):  # each round may date an article that dates another
        undated = [a for a in articles if a.date is None]
        if not undated:
            return
        progress = False
        for a in undated:
            dated = [b for b in articles if b.date is not None]
            progress |= _same_story(a, dated, similarity) or _anchored(a, dated)
        if not progress:
            return


def _same_story(a: Dated, dated: list[Dated], similarity: Callable[[Dated, Dated], float]) -> bool:
    """Adopt the date of the one dated article telling the same story, if exactly one clearly does."""
    scored: list[tuple[float, Dated, str]] = []
    for b in dated:
        assert b.date is not None
        if a.latest_mentioned and b.date < a.latest_mentioned:
            continue
        shared = _shared_sentence(a.sentences, b.sentences)
        if shared:
            scored.append((2.0, b, f"shares the sentence {shared[:60]!r}..."))
        else:
            score = similarity(a, b)
            scored.append((score, b, f"tells the same story (lede similarity {score:.2f})"))
    scored.sort(key=lambda x: -x[0])
    if not scored or scored[0][0] < SAME_STORY_COSINE:
        return False
    if len(scored) > 1 and scored[0][0] < 2.0 and scored[0][0] - scored[1][0] < SAME_STORY_MARGIN:
        return False  # two stories fit about as well: no inference beats a wrong one
    _, b, why = scored[0]
    a.date, a.note = b.date, f"inferred: same day as {b.source}, which {why}"
    return True


def _shared_sentence(xs: list[str], ys: list[str]) -> str | None:
    for x in xs:
        wx = _words(x)
        if len(wx) < 10:
            continue
        for y in ys:
            wy = _words(y)
            if abs(len(wx) - len(wy)) < 6 and SequenceMatcher(None, wx, wy, autojunk=False).ratio() > 0.8:
                return x
    return None


def _anchored(a: Dated, dated: list[Dated]) -> bool:
    """Date a weekday sentence of `a` by a dated sentence elsewhere about the same event."""
    for sentence in a.sentences:
        days = [d.lower() for d in _weekdays_in(sentence)]
        if not days:
            continue
        for b in dated:
            assert b.date is not None
            for other in b.sentences:
                for when in month_days(other, b.date):
                    if WEEKDAYS[when.weekday()] in days and _same_event(sentence, other):
                        a.date = _last_weekday_after(when, a.sentences)
                        a.note = (
                            f"inferred: {sentence[:50]!r}... is the event {b.source} dates {when:%B %-d, %Y} "
                            f"({WEEKDAYS[when.weekday()].title()}); the latest weekday this article names "
                            f"after it is {a.date:%A %B %-d, %Y}"
                        )
                        return True
    return False


def _weekdays_in(sentence: str) -> list[str]:
    return WEEKDAY.findall(sentence)


def _same_event(x: str, y: str) -> bool:
    """Sentences sharing at least three content words. Example: 'sent Putin a letter' ~ 'sent a letter to Putin'."""
    return len((set(_words(x)) - _STOP) & (set(_words(y)) - _STOP)) >= 3


def _last_weekday_after(anchor: dt.date, sentences: list[str]) -> dt.date:
    """The latest of the article's weekdays, each read as the first such day on or after `anchor`."""
    latest = anchor
    for s in sentences:
        for day in _weekdays_in(s):
            gap = (WEEKDAYS.index(day.lower()) - anchor.weekday()) % 7
            latest = max(latest, anchor + dt.timedelta(days=gap))
    return latest


def month_days(sentence: str, published: dt.date) -> list[dt.date]:
    """Dates in a sentence, a missing year read as the latest one not after `published`.

    Example: month_days("On June 27, he wrote", date(2016, 8, 9)) == [date(2016, 6, 27)]
    """
    out = []
    for m in FULL_DATE.finditer(sentence):
        d = _safe(int(m.group(3)), MONTHS[m.group(1).lower()], int(m.group(2)))
        if d:
            out.append(d)
    for m in MONTH_DAY.finditer(sentence):
        month, day = MONTHS[m.group(1).lower()], int(m.group(2))
        d = _safe(published.year, month, day)
        if d and d > published:
            d = _safe(published.year - 1, month, day)
        if d:
            out.append(d)
    return out


def years_named(sentence: str, published: dt.date | None) -> set[int]:
    """The years of the dates a sentence names, read against its article's date: a year, a day
    ("on Sunday", "June 27"), a relative date ("last year") or a month alone ("in November": the latest
    November not after `published`).

    Example: years_named("He refused a meeting in Paris in November", date(2016, 8, 9)) == {2015}
    """
    out = {int(y) for y in re.findall(r"\b(?:19|20)\d\d\b", sentence)}
    if published:
        out |= {d.year for d in month_days(sentence, published)}
        out |= {int(y) for _, value in relative_dates(sentence, published) for y in re.findall(r"\b\d{4}\b", value)}
    return out


def _safe(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _words(s: str) -> list[str]:
    return re.findall(r"\w+", s.lower())


_RELATIVE = re.compile(
    rf"\b(?:(last|next|this) (month|year|week)|last {_MONTH}(?! \d)|(yesterday|today)"
    r"|(?:on |last |this |earlier on |late |early )?(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday))\b",
    re.I,
)


def relative_dates(sentence: str, published: dt.date) -> list[tuple[str, str]]:
    """Relative dates of a sentence read against the article's date, as (phrase, date) pairs.

    A weekday is the latest such day on or before publication; "last November" the latest
    November before the month of publication; "in November" the latest not after it.
    Example, published Thursday 2016-06-30:
    relative_dates("Putin called on Wednesday, last month", ...) ==
        [("on Wednesday", "June 29, 2016"), ("last month", "May 2016")]
    """
    return [(phrase, value) for phrase, value, _ in _relatives(sentence, published)]


def relative_days(sentence: str, published: dt.date) -> list[dt.date]:
    """The days (not months or years) among a sentence's relative dates: "on Wednesday" -> June 29."""
    return [day for _, _, day in _relatives(sentence, published) if day is not None]


def _relatives(sentence: str, published: dt.date) -> list[tuple[str, str, dt.date | None]]:
    out = []
    for m in _RELATIVE.finditer(sentence):
        which, unit, month, day, weekday = m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)
        when: dt.date | None = None
        if unit:
            value = _relative_unit(which.lower(), unit.lower(), published)
        elif month:
            n = MONTHS[month.lower().rstrip(".")]
            value = f"{_month_name(n)} {published.year if n < published.month else published.year - 1}"
        else:
            back = (1 if day.lower() == "yesterday" else 0) if day else \
                (published.weekday() - WEEKDAYS.index(weekday.lower())) % 7
            when = published - dt.timedelta(days=back)
            value = _long(when)
        if value:
            out.append((m.start(), m.group(0), value, when))
    for m in BARE_MONTH.finditer(sentence):  # "in November": the latest November not after publication
        n = MONTHS[m.group(1).lower()]
        out.append((m.start(), m.group(0), f"{_month_name(n)} {published.year - (n > published.month)}", None))
    return [(phrase, value, when) for _, phrase, value, when in sorted(out, key=lambda x: x[0])]


def _relative_unit(which: str, unit: str, published: dt.date) -> str:
    if unit == "year":
        return str(published.year + {"last": -1, "this": 0, "next": 1}[which])
    if unit == "month":
        first = published.replace(day=1)
        d = first - dt.timedelta(days=1) if which == "last" else first + dt.timedelta(days=32 if which == "next" else 0)
        return f"{_month_name(d.month)} {d.year}"
    return ""  # "last week": too vague to show as a date


def _month_name(n: int) -> str:
    return dt.date(2000, n, 1).strftime("%B")


def _long(d: dt.date) -> str:
    return f"{d:%B} {d.day}, {d.year}"
