"""Words that carry meaning: stemmed, lower-case, stop words out; and how rare each is."""

from __future__ import annotations

import bisect
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

STOP = set(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours ever said say says tell told according article articles text did does two one time
    news report reported mention mentioned happen happened""".split()
)
# Counts written as words, and the words for magnitudes ("dozens", "hundreds"): one vocabulary for
# the answerer (qa.question, qa.abstain) and the citation check (qa.support).
NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "thirty": "30", "forty": "40",
    "fifty": "50", "hundred": "100", "thousand": "1000",
}  # fmt: skip
MAGNITUDES = r"dozens?|hundreds?|thousands?|millions?|billions?"
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
# Characters that show nothing yet split a word for a regex: soft hyphen, zero-width space, non-joiner and joiner,
# word joiner, byte order mark. Matching folds them out; the article text (and its offsets) keeps them.
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_DOTTED = re.compile(r"\b(?:[A-Za-z]\.){2,}")  # "U.N.", "U.S.": one word, as "UN" and "US" are
# A country and the words for its people or things: an article that says "China" knows "Chinese".
COUNTRY_WORDS = [
    "america american americans us usa", "britain british uk", "china chinese", "france french",
    "germany german germans", "japan japanese", "turkey turkish turks", "russia russian russians",
    "ukraine ukrainian ukrainians", "syria syrian syrians", "iran iranian iranians", "iraq iraqi iraqis",
    "israel israeli israelis", "greece greek greeks", "europe european europeans eu", "netherlands dutch",
    "switzerland swiss", "spain spanish", "italy italian italians", "india indian indians",
    "pakistan pakistani", "egypt egyptian egyptians", "afghanistan afghan afghans", "azerbaijan azerbaijani",
    "armenia armenian armenians", "georgia georgian georgians", "libya libyan libyans", "kurdistan kurdish kurds",
    "belarus belarusian", "poland polish", "qatar qatari", "saudi saudis",
]


_local = threading.local()  # a PyStemmer object is not thread-safe: one per thread


def _stemmer() -> Any:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_stemmer().stemWord(fold(word)))


def fold(word: str) -> str:
    """Lower-case and strip accents and possessives. Example: "Erdoğan's" -> "erdogan"."""
    import unicodedata

    word = re.sub(r"['’]s$", "", word.lower())
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def visible(text: str) -> str:
    """`text` without the invisible characters inside words. Example: "Mei\u200bling" -> "Meiling"."""
    return _INVISIBLE.sub("", text)


def terms(text: str) -> list[str]:
    """Content stems in order. Example: terms("When did Russia lift the ban?") == ["russia", "lift", "ban"]."""
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), visible(text))
    return [_stem(w) for w in _WORD.findall(text) if w.lower() not in STOP and len(w) > 1]


@lru_cache(maxsize=1)
def _kin() -> dict[str, set[str]]:
    """Stem -> the stems of its country's other words. Example: _kin()["chines"] == {"china"}."""
    out: dict[str, set[str]] = {}
    for line in COUNTRY_WORDS:
        stems = {_stem(w) for w in line.split()}
        for stem in stems:
            out.setdefault(stem, set()).update(stems - {stem})
    return out


def kindred(stem: str) -> set[str]:
    """The stems of the same country's other words. Example: kindred("turkey") == {"turkish", "turk"}."""
    return _kin().get(stem, set())


LIKE_SUFFIX = 3  # known_like: letters a word may differ by at its end


class Rarity:
    """Inverse document frequency of stems over a set of passages."""

    def __init__(self, passages: Iterable[str]) -> None:
        self.df: Counter[str] = Counter()
        self.n = 0
        for p in passages:
            self.n += 1
            self.df.update(set(terms(p)))
        self._sorted: list[str] | None = None  # the known stems in order, made on first need (known_like)

    @classmethod
    def from_counts(cls, df: dict[str, int], n: int) -> Rarity:
        """Rarity from saved counts. Example: Rarity.from_counts({"turkey": 2}, 4).known("turkey") is True."""
        rarity = cls(())
        rarity.df.update(df)
        rarity.n = n
        return rarity

    def idf(self, stem: str) -> float:
        return math.log((self.n + 1) / (self.df.get(stem, 0) + 0.5))

    def known(self, stem: str) -> bool:
        return stem in self.df

    def known_like(self, stem: str) -> bool:
        """Known, or a known stem shares all but its last three letters, five at least ("syrian" ~
        "syria", not "interpret" ~ "intern"), or names the same country ("chines" ~ "china", "american" ~ "us")."""
        if stem in self.df or any(kin in self.df for kin in _kin().get(stem, ())):
            return True
        if len(stem) < 5:
            return False
        if self._sorted is None:
            self._sorted = sorted(self.df)
        head = stem[: max(5, len(stem) - LIKE_SUFFIX)]
        at = bisect.bisect_left(self._sorted, head)
        return at < len(self._sorted) and self._sorted[at].startswith(head)

    def coverage(self, wanted: list[str], present: set[str]) -> float:
        """Share of the wanted stems' weight found in `present`. Example: (["a","b"], {"a"}) -> ~0.5."""
        total = sum(self.idf(t) for t in set(wanted))
        return sum(self.idf(t) for t in set(wanted) if t in present) / total if total else 0.0
