"""The offline answerer: pick the article sentences that answer, cite each, or abstain.

No sentence is written or changed: the answer is up to three sentences of the articles, each
followed by its `[n]` marker. What the question asks comes from `qa.question`; whether the chosen
sentences answer it at all from `qa.abstain` (evidence, not one cosine).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from index.dates import month_days, relative_dates, relative_days, years_named
from qa.abstain import abstention, why_abstain
from qa.conflicts import Claim, claims, disagree
from qa.question import ABOUT_TIME, PHOTO, RECENT, SEVERAL, YEAR, fits, fits_near, own_terms, question_kind
from qa.retrieve import Sentence, is_credit, same_passage
from qa.schema import Answer, Citation, Passage
from qa.terms import Rarity, terms

MAX_SENTENCES = 3
# Weights of the answer score, tuned by hand on eval/dev.jsonl (not on eval/questions.jsonl, which
# measures them).
W_DENSE, W_LEXICAL, W_TYPE, W_RANK = 0.55, 0.35, 0.12, 0.02
W_YEAR = 0.08  # a question naming a year prefers articles published that year
W_CAPTION = 0.10  # a photo caption answers what the question asks about the photo, and only that
KEEP_RATIO = 0.80  # a further sentence must score at least this share of the best one,
GAIN_RATIO, MIN_GAIN = 0.50, 0.10  # or this share, when it adds this much of the question's weight
PART_RATIO = KEEP_RATIO  # a sub-question's runner-up must score this share of its best sentence
SEVERAL_RATIO = 0.50  # or this share, from another article, when the question asks for several
CONFLICT_DEPTH = 20  # how far down the ranking to look for a source that disagrees
# "Did he say anything about the Turkish people? (Putin met Erdoğan St Petersburg)": a follow-up carries the
# previous question's words in a trailing parenthesis (qa.chat); they give the topic, the question's own
# words what is asked. This share of the word match is of the own words only.
OWN_SHARE = 0.5
RECENT_BAND = 0.85  # "When did they last speak?": newest article among sentences this close in meaning


@dataclass
class Scored:
    sentence: Sentence
    score: float
    dense: float
    lexical: float
    stems: set[str]


def answer(question: str, qvec: np.ndarray, sentences: list[Sentence], rarity: Rarity,
           parts: list[tuple[str, np.ndarray]] = ()) -> Answer:  # type: ignore[assignment]
    """Choose, order and cite the sentences that answer `question`, or abstain.

    `parts` are the sub-questions of a compound question (see `parts_of`) with their vectors:
    each gets its best sentence.
    """
    recent = bool(RECENT.search(question))
    wanted = [t for t in terms(RECENT.sub(" ", question) if recent else question) if t]
    kind = question_kind(question)
    years = set(YEAR.findall(question))
    scored = sorted(
        (_score(s, qvec, wanted, kind, rarity, years, bool(PHOTO.search(question)), own_terms(question))
         for s in sentences
         if _answer_like(s)),
        key=lambda x: -x.score,
    )
    if not scored:
        return abstention(question)
    if recent:
        scored = _newest_first(scored)
    photo = bool(PHOTO.search(question))
    chosen = _choose(scored, wanted, rarity, bool(SEVERAL.search(question)) or len(years) > 1, photo)
    rankings, answers_of_parts = _part_answers(parts, sentences, rarity) if parts else ([], [])
    if parts:
        chosen = _cover_parts(chosen, rankings, answers_of_parts)
    coverage = rarity.coverage(wanted, set().union(*(c.stems for c in chosen)))
    texts = [c.sentence.text for c in chosen]
    if why_abstain(question, kind, texts, coverage, chosen[0].dense, rarity, compound=bool(parts)):
        return abstention(question)
    chosen = chosen if recent else _readable(chosen)  # "last": the latest first
    # Two events' dates ("between A and B", "before or after"): their difference is the answer, not a conflict.
    timely = bool(ABOUT_TIME.search(question))
    clash = None if parts and kind == "when" else _conflict(chosen, scored, set(wanted), timely)
    if clash and parts and not _about_any(clash, answers_of_parts):
        clash = None  # a compound question: a disagreement counts when it is about a part's answer
    return compose_with_conflict(question, kind, chosen, scored, clash)


def compose_with_conflict(question: str, kind: str, chosen: list[Scored], scored: list[Scored],
                          clash: tuple[Scored, Claim, Scored, Claim] | None) -> Answer:
    """The answer; when two sources disagree, the two disagreeing sentences last, introduced as such."""
    if clash is None:
        return _compose(question, chosen, None, scored)
    mine, ours, other, theirs = clash
    if kind == "when" and mine is chosen[0]:
        chosen = []  # the date asked for, and the other source's date: nothing else
    keep = [c for c in chosen if c is not mine and not same_passage(c.sentence.text, other.sentence.text)]
    keep = sorted(sorted(keep, key=lambda c: -c.score)[: MAX_SENTENCES - 2], key=keep.index)  # the best, in order
    chosen = [*keep, mine]  # the two disagreeing sentences come last, in this order
    what = "date" if ours.kind == "date" else "number"
    note = (f"{mine.sentence.source} gives the {what} as {ours.text}; "
            f"{other.sentence.source} gives {theirs.text}")
    return _compose(question, [*chosen, other], (what, note), scored)


def _part_answers(parts: list[tuple[str, np.ndarray]], sentences: list[Sentence], rarity: Rarity
                  ) -> tuple[list[list[Scored]], list[Scored]]:
    """Each sub-question's ranking of the sentences, and its best sentence (each sentence once)."""
    rankings = [_part_ranking(text, vec, sentences, rarity) for text, vec in parts]
    best: list[Scored] = []
    for ranking in rankings:
        if ranking and all(ranking[0].sentence.text != b.sentence.text for b in best):
            best.append(ranking[0])
    return rankings, best


def _cover_parts(chosen: list[Scored], rankings: list[list[Scored]], best: list[Scored]) -> list[Scored]:
    """The best sentence of each sub-question first; free places go to the closest runners-up,
    by their share of the top score of their own ranking (the whole question's, or a part's).

    Example: parts "goals ... in 2016" and "goals ... in 2022"; the 2022 part's second sentence
    (0.342 of its top 0.348) comes before the whole question's next one (0.365 of 0.411).
    """
    runners = [(c.score / chosen[0].score, c) for c in chosen]
    runners += [(x.score / r[0].score, x) for r in rankings for x in r[1:]
                if x.score >= r[0].score * PART_RATIO and not x.sentence.caption]
    out = list(best)
    for _, cand in sorted(runners, key=lambda rc: -rc[0]):
        if len(out) == MAX_SENTENCES:
            break
        if all(not same_passage(cand.sentence.text, c.sentence.text) for c in out):
            out.append(cand)
    return out


def _part_ranking(text: str, vec: np.ndarray, sentences: list[Sentence], rarity: Rarity) -> list[Scored]:
    """The sentences scored against one sub-question, best first."""
    wanted, kind, years = terms(text), question_kind(text), set(YEAR.findall(text))
    return sorted((_score(s, vec, wanted, kind, rarity, years, bool(PHOTO.search(text))) for s in sentences
                   if _answer_like(s)), key=lambda x: -x.score)


def _answer_like(s: Sentence) -> bool:
    """A sentence that can answer: not the headline, not a fragment, not a credit ("| Photo by X/AP")."""
    return (len(s.text.split()) >= 4 and s.text.strip() != s.meta.get("title", "").strip()
            and not is_credit(s.text))


def _score(s: Sentence, qvec: np.ndarray, wanted: list[str], kind: str, rarity: Rarity, years: set[str],
           photo: bool = False, own: list[str] | None = None) -> Scored:
    stems = set(terms(s.text)) | set(terms(s.meta.get("title", "")))
    dense = float(np.dot(qvec, s.vector))
    lexical = rarity.coverage(wanted, set(terms(s.text)))
    if own:  # a follow-up: its own words weigh apart from the carried ones
        known = [t for t in own if rarity.known(t)]  # "anything" is in no article: it weighs nothing here
        lexical = (1 - OWN_SHARE) * lexical + OWN_SHARE * rarity.coverage(known, set(terms(s.text)))
    typed = fits_near(kind, s.text, wanted) if kind == "when" else float(fits(kind, s.text))
    if kind == "when" and years and not {str(y) for y in years_named(s.text, _published(s))} & years:
        typed = 0.0  # "When did they speak in 2022?": a date of 2016 is not the kind of answer asked for
    score = W_DENSE * dense + W_LEXICAL * lexical + W_TYPE * typed + W_RANK / (1 + s.chunk_rank)
    if years and s.meta.get("date", "")[:4] in years:
        score += W_YEAR  # "What happened in 2022?": articles of that year first
    if s.caption:
        score += W_CAPTION if photo else -W_CAPTION  # "Where was the photo taken?" asks a caption
    return Scored(s, score, dense, lexical, stems)


def _newest_first(scored: list[Scored]) -> list[Scored]:
    """For "last/latest" questions: sentences of the newest relevant article lead, best first.

    Relevant: a sentence as close in meaning as RECENT_BAND of the closest one.
    Within it, a sentence dated latest (by a date or a weekday it names) leads: in a 2022 article
    "said Sunday" (January 2, 2022) comes before a photo caption of "Sept. 29, 2021".
    """
    top = max(x.dense for x in scored)
    newest = max(x.sentence.meta.get("date", "") for x in scored if x.dense >= top * RECENT_BAND)
    lead = [x for x in scored if x.sentence.meta.get("date", "") == newest]
    dated = sorted((x for x in lead if x.dense >= top * RECENT_BAND and _event_date(x.sentence)),
                   key=lambda x: _event_date(x.sentence) or dt.date.min, reverse=True)
    return dated[:1] + [x for x in scored if x not in dated[:1] and x in lead] + [x for x in scored if x not in lead]


def _event_date(s: Sentence) -> dt.date | None:
    """The latest day a sentence names, by date or by weekday read against its article's date."""
    published = _published(s)
    if published is None:
        return None
    return max([*month_days(s.text, published), *relative_days(s.text, published)], default=None)


def _choose(scored: list[Scored], wanted: list[str], rarity: Rarity, several: bool, photo: bool = False
            ) -> list[Scored]:
    """The best sentence, then up to two more that score nearly as well, or a little less well
    but hold question words the chosen ones lack ("Crimea ... 2014" beside "S-400 ... 2019") or,
    when the question asks for several sources, come from another article. A photo caption comes
    after the best sentence only when the question is about a photo."""
    chosen = [scored[0]]
    covered = scored[0].stems & set(wanted)
    floor = scored[0].score * (SEVERAL_RATIO if several else GAIN_RATIO)
    for cand in scored[1:]:
        if len(chosen) == MAX_SENTENCES or cand.score < floor:
            break
        if any(same_passage(cand.sentence.text, c.sentence.text) for c in chosen):
            continue
        if cand.sentence.caption and not photo:
            continue
        gain = rarity.coverage(wanted, (cand.stems & set(wanted)) - covered)
        new_source = several and all(cand.sentence.source != c.sentence.source for c in chosen)
        if cand.score >= scored[0].score * KEEP_RATIO or gain >= MIN_GAIN or new_source:
            chosen.append(cand)
            covered |= cand.stems & set(wanted)
    return chosen


def _about_any(clash: tuple[Scored, Claim, Scored, Claim], answers: list[Scored]) -> bool:
    """Is one of the two disagreeing sentences among `answers`?"""
    return any(x.sentence.text in (clash[0].sentence.text, clash[2].sentence.text) for x in answers)


def _conflict(chosen: list[Scored], scored: list[Scored], about: set[str], timely: bool
              ) -> tuple[Scored, Claim, Scored, Claim] | None:
    """Two sources that state a different date or number for an event the question names
    (see qa.conflicts); the chosen sentences are tried first. Dates count only for a question
    about time (`timely`): "Why hasn't Turkey got hold of him?" is not answered by a dispute over a date."""
    pool = _unique_by_text([*chosen, *scored[:CONFLICT_DEPTH]])
    stated = [(x, c) for x in pool for c in claims(x.sentence.text, _published(x.sentence))
              if c.event & about and (timely or c.kind != "date")]
    for i, (mine, ours) in enumerate(stated):
        for other, theirs in stated[i + 1:]:
            if other.sentence.source != mine.sentence.source and disagree(ours, theirs, about):
                return mine, ours, other, theirs
    return None


def _unique_by_text(xs: list[Scored]) -> list[Scored]:
    return list({x.sentence.text: x for x in reversed(xs)}.values())[::-1]


def _published(s: Sentence) -> dt.date | None:
    try:
        return dt.date.fromisoformat(s.meta.get("date") or "")
    except ValueError:
        return None


def _readable(chosen: list[Scored]) -> list[Scored]:
    """Group by article (best article first), in the article's own order within each."""
    order: dict[str, int] = {}
    for c in chosen:
        order.setdefault(c.sentence.source, len(order))
    return sorted(chosen, key=lambda c: (order[c.sentence.source], c.sentence.start))


def _compose(question: str, chosen: list[Scored], conflict: tuple[str, str] | None, scored: list[Scored]
             ) -> Answer:
    """The answer text: each sentence, its marker and its relative dates resolved; a disagreeing
    source last, introduced as such."""
    citations: list[Citation] = []
    parts: list[str] = []
    for n, c in enumerate(chosen, start=1):
        s = c.sentence
        published = _published(s)
        dates = [f"{phrase} = {when}" for phrase, when in relative_dates(s.text, published)] if published else []
        citations.append(Citation(**vars(passage_of(s)), id=n, also=_repeats(s, scored), dates=dates))
        text = f"{s.text.strip()} [{n}]" + (f" ({'; '.join(dates)})" if dates else "")
        if conflict and n == len(chosen):
            text = f"However, another source gives a different {conflict[0]}: {text}"
        parts.append(text)
    return Answer(text=" ".join(parts), citations=citations, abstained=False, mode="extractive",
                  question=question, conflicts=[conflict[1]] if conflict else [])


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
