"""The offline answerer: pick the article sentences that answer, cite each, or abstain.

No sentence is written or changed: the answer is up to three sentences of the articles, each
followed by its `[n]` marker. Abstaining is decided from evidence, not one cosine: how much of
the question's meaning (rare words weigh more) the best sentences contain, and how close they are.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from index.dates import FULL_DATE, MONTH_DAY, MONTH_YEAR, WEEKDAY, month_days
from qa.retrieve import Sentence, same_passage
from qa.schema import Answer, Citation, Passage
from qa.terms import Rarity, terms

MAX_SENTENCES = 3
ABSTAIN_TEXT = "The articles don't say. None of the indexed articles answers this question."
# Weights of the answer score and the abstention rule, tuned by hand on eval/dev.jsonl (not on
# eval/questions.jsonl, which measures them).
W_DENSE, W_LEXICAL, W_TYPE, W_RANK = 0.55, 0.35, 0.12, 0.02
# Abstain when the best sentences hold little of the question's weight AND are not close in
# meaning: paraphrased questions have low word overlap, off-topic ones have both low.
ABSTAIN_RULES = ((0.10, 0.55), (0.40, 0.40))  # (coverage below, cosine below) pairs
_DATE_PATTERNS = (FULL_DATE, MONTH_DAY, MONTH_YEAR, WEEKDAY)
KEEP_RATIO = 0.85  # a further sentence must score at least this share of the best one
RECENT = re.compile(r"\b(last|latest|most recent(ly)?|recently|newest)\b", re.I)
RECENT_BAND = 0.85  # "When did they last speak?": newest article among sentences this close in meaning


@dataclass
class Scored:
    sentence: Sentence
    score: float
    dense: float
    lexical: float
    stems: set[str]


def answer(question: str, qvec: np.ndarray, sentences: list[Sentence], rarity: Rarity) -> Answer:
    """Choose, order and cite the sentences that answer `question`, or abstain."""
    recent = bool(RECENT.search(question))
    wanted = [t for t in terms(RECENT.sub(" ", question) if recent else question) if t]
    kind = question_kind(question)
    scored = sorted(
        (_score(s, qvec, wanted, kind, rarity) for s in sentences if _answer_like(s)),
        key=lambda x: -x.score,
    )
    if not scored:
        return abstention(question)
    if recent:
        scored = _newest_first(scored)
    chosen = _choose(scored)
    coverage = rarity.coverage(wanted, set().union(*(c.stems for c in chosen)))
    if any(coverage < cov and chosen[0].dense < cos for cov, cos in ABSTAIN_RULES):
        return abstention(question)
    if not any(has_answer_type(kind, c.sentence.text, question) for c in chosen):
        return abstention(question)  # on topic, but nothing of the kind asked for (a count, a name)
    conflicts: list[str] = []
    if kind in ("when", "other"):
        other = _conflicting_date(chosen[0], scored, wanted, rarity)
        if other is not None:
            chosen = [chosen[0], other]
            conflicts.append(
                f"{chosen[0].sentence.meta['source']} and {other.sentence.meta['source']} give different dates"
            )
    return _compose(question, _readable(chosen), conflicts, scored)


def abstention(question: str) -> Answer:
    return Answer(text=ABSTAIN_TEXT, citations=[], abstained=True, mode="extractive", question=question)


def _answer_like(s: Sentence) -> bool:
    """A sentence that can answer: not the headline, not a fragment."""
    return len(s.text.split()) >= 4 and s.text.strip() != s.meta.get("title", "").strip()


_CODES_AND_DATES = re.compile(
    rf"{FULL_DATE.pattern}|{MONTH_DAY.pattern}|{MONTH_YEAR.pattern}|\b(?:19|20)\d\d\b|\b\w*[A-Za-z]-?\d+\w*\b"
)
_COUNT = re.compile(r"\d|\b(?:dozens?|hundreds?|thousands?|millions?|billions?|one|two|three|four|five|six|seven|"
                    r"eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|several|half)\b", re.I)
_NAME = re.compile(r"\b[A-Z][a-zğüşöçı]+(?:\s+[A-Z][a-zğüşöçı]+)+\b")


def has_answer_type(kind: str, text: str, question: str) -> bool:
    """Does the sentence hold the kind of thing asked for, beyond what the question already says?

    Example: ("number", "bought S-400 batteries in 2019", "How many batteries?") -> False
    """
    if kind == "number":
        return bool(_COUNT.search(_CODES_AND_DATES.sub(" ", text)))
    if kind == "name":
        asked = set(re.findall(r"\w+", question.lower()))
        return any(not set(n.lower().split()) <= asked for n in _NAME.findall(text))
    return True


def question_kind(question: str) -> str:
    """when / number / who / where / other. Example: "How many were killed?" -> "number"."""
    q = question.lower()
    if re.search(r"\b(when|what date|which date|what day|what year|which year|how long ago)\b", q):
        return "when"
    if re.search(r"\bhow (many|much)\b|\bwhat (number|percentage)\b", q):
        return "number"
    if re.search(r"\b(what|which) (was|is) the name\b|\bname of\b|\bwho (was|is) the\b", q):
        return "name"
    if re.search(r"\bwho\b|\bwhose\b", q):
        return "who"
    if re.search(r"\bwhere\b|\bwhich (city|country|place)\b", q):
        return "where"
    return "other"


def _score(s: Sentence, qvec: np.ndarray, wanted: list[str], kind: str, rarity: Rarity) -> Scored:
    stems = set(terms(s.text)) | set(terms(s.meta.get("title", "")))
    dense = float(np.dot(qvec, s.vector))
    lexical = rarity.coverage(wanted, set(terms(s.text)))
    fits = _fits_near(kind, s.text, wanted) if kind == "when" else (1.0 if _fits(kind, s.text) else 0.0)
    score = W_DENSE * dense + W_LEXICAL * lexical + W_TYPE * fits + W_RANK / (1 + s.chunk_rank)
    return Scored(s, score, dense, lexical, stems)


def _fits_near(kind: str, text: str, wanted: list[str]) -> float:
    """1 when a date sits within four words of a question word ("the July 15 coup"), 0.5 anywhere."""
    if not _fits(kind, text):
        return 0.0
    words = re.findall(r"\w+", text)
    stems = [set(terms(w)) for w in words]
    hits = [i for i, st in enumerate(stems) if st & set(wanted)]
    spans = [m for p in _DATE_PATTERNS for m in p.finditer(text)]
    for m in spans:
        at = len(re.findall(r"\w+", text[: m.start()]))
        if any(abs(at - h) <= 4 for h in hits):
            return 1.0
    return 0.5


def _fits(kind: str, text: str) -> bool:
    if kind == "when":
        return any(p.search(text) for p in _DATE_PATTERNS) or bool(re.search(r"\b(19|20)\d\d\b", text))
    if kind == "number":
        return bool(re.search(r"\d|\b(dozens?|hundreds?|thousands?|millions?)\b", text))
    if kind in ("who", "where", "name"):
        return bool(re.search(r"\b[A-Z][a-z]+", text[1:]))
    return False


def _newest_first(scored: list[Scored]) -> list[Scored]:
    """For "last/latest" questions: sentences of the newest relevant article lead, best first.

    Relevant: a sentence as close in meaning as RECENT_BAND of the closest one.
    """
    top = max(x.dense for x in scored)
    newest = max(x.sentence.meta.get("date", "") for x in scored if x.dense >= top * RECENT_BAND)
    return [x for x in scored if x.sentence.meta.get("date", "") == newest] + [
        x for x in scored if x.sentence.meta.get("date", "") != newest
    ]


def _choose(scored: list[Scored]) -> list[Scored]:
    """The best sentence, then up to two more that score nearly as well and add something."""
    chosen = [scored[0]]
    for cand in scored[1:]:
        if len(chosen) == MAX_SENTENCES or cand.score < scored[0].score * KEEP_RATIO:
            break
        if any(same_passage(cand.sentence.text, c.sentence.text) for c in chosen):
            continue
        chosen.append(cand)
    return chosen


def _conflicting_date(best: Scored, scored: list[Scored], wanted: list[str], rarity: Rarity) -> Scored | None:
    """Another source's sentence about the same event that dates it differently.

    Same event: the sentence holds all but at most one of the question's words that the corpus
    knows (so "coup attempt ... June 18" matches "When was the coup attempt in Turkey?").
    """
    ours = _dates(best.sentence)
    if not ours:
        return None
    event = {t for t in wanted if rarity.known(t)}
    for cand in scored[1:20]:
        if cand.sentence.source == best.sentence.source or len(event - cand.stems) > max(0, len(event) // 3):
            continue
        theirs = _dates(cand.sentence)
        if theirs and not (theirs & ours) and _same_kind(ours, theirs):
            return cand
    return None


def _dates(s: Sentence) -> set[dt.date]:
    published = _published(s)
    return set(month_days(s.text, published)) if published else set()


def _published(s: Sentence) -> dt.date | None:
    try:
        return dt.date.fromisoformat(s.meta.get("date") or "")
    except ValueError:
        return None


def _same_kind(a: set[dt.date], b: set[dt.date]) -> bool:
    """Both sides date the event within a year of each other (not a 2016 event against 2022)."""
    return any(abs((x - y).days) < 366 for x in a for y in b)


def _readable(chosen: list[Scored]) -> list[Scored]:
    """Group by article (best article first), in the article's own order within each."""
    order: dict[str, int] = {}
    for c in chosen:
        order.setdefault(c.sentence.source, len(order))
    return sorted(chosen, key=lambda c: (order[c.sentence.source], c.sentence.start))


def _compose(question: str, chosen: list[Scored], conflicts: list[str], scored: list[Scored]) -> Answer:
    citations: list[Citation] = []
    parts: list[str] = []
    for n, c in enumerate(chosen, start=1):
        s = c.sentence
        citations.append(Citation(source=s.source, quote=s.text, start=s.start, end=s.end,
                                  title=s.meta.get("title", ""), date=s.meta.get("date", ""),
                                  outlet=s.meta.get("outlet", ""), id=n, also=_repeats(s, scored)))
        text = s.text.strip()
        if conflicts and n == 2:
            parts.append(f"However, another source gives a different date: {text} [{n}]")
        else:
            parts.append(f"{text} [{n}]")
    return Answer(text=" ".join(parts), citations=citations, abstained=False, mode="extractive",
                  question=question, conflicts=conflicts)


def _repeats(s: Sentence, scored: list[Scored]) -> list[Passage]:
    """The same sentence as printed by other articles: one citation, every source."""
    seen = {s.source}
    out = []
    for other in scored:
        o = other.sentence
        if o.source not in seen and same_passage(o.text, s.text):
            seen.add(o.source)
            out.append(passage_of(o))
    return out


def passage_of(s: Sentence) -> Passage:
    return Passage(source=s.source, quote=s.text, start=s.start, end=s.end, title=s.meta.get("title", ""),
                   date=s.meta.get("date", ""), outlet=s.meta.get("outlet", ""))
