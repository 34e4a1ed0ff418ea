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

from index.dates import (
    FULL_DATE,
    MONTH_DAY,
    MONTH_YEAR,
    MONTHS,
    WEEKDAY,
    WEEKDAYS,
    month_days,
    relative_dates,
    relative_days,
)
from qa.conflicts import Claim, claims, disagree
from qa.retrieve import Sentence, same_passage
from qa.schema import Answer, Citation, Passage
from qa.terms import STOP, Rarity, fold, terms

MAX_SENTENCES = 3
ABSTAIN_TEXT = "The articles don't say. None of the indexed articles answers this question."
# Weights of the answer score and the abstention rule, tuned by hand on eval/dev.jsonl (not on
# eval/questions.jsonl, which measures them).
W_DENSE, W_LEXICAL, W_TYPE, W_RANK = 0.55, 0.35, 0.12, 0.02
W_YEAR = 0.08  # a question naming a year prefers articles published that year
W_CAPTION = 0.10  # a photo caption answers only what the question asks about the photo
PHOTO = re.compile(r"\b(photo\w*|picture\w*|pictured|caption\w*|image\w*)\b", re.I)
# Abstain when the best sentences hold little of the question's weight AND are not close in
# meaning: paraphrased questions have low word overlap, off-topic ones have both low.
ABSTAIN_RULES = ((0.10, 0.55), (0.40, 0.40))  # (coverage below, cosine below) pairs
_DATE_PATTERNS = (FULL_DATE, MONTH_DAY, MONTH_YEAR, WEEKDAY)
# "Which office released the statement?" asks for a body by its name: capitalised words ending in one
# of these ("Presidential Communications Directorate", "Foreign Ministry", "Anadolu Agency").
BODY_HEADS = ("Directorate|Ministry|Office|Agency|Council|Committee|Commission|Presidency|Department|Service|"
              "Bureau|Administration|Organi[sz]ation|Parliament|Assembly|Institute|Party|Court|Bank")
BODY = re.compile(rf"\b(?:[A-Z][\w'’-]+\s+)+(?:{BODY_HEADS})\b")
BODY_QUESTION = re.compile(r"\b(?:which|what)\s+(?:[\w'’-]+\s+)?(?:office|organi[sz]ation|agency|ministry|body|"
                           r"institution|department|authority|directorate)\b", re.I)
KEEP_RATIO = 0.85  # a further sentence must score at least this share of the best one,
GAIN_RATIO, MIN_GAIN = 0.60, 0.15  # or this share, when it adds this much of the question's weight
PART_RATIO = KEEP_RATIO  # a sub-question's runner-up must score this share of its best sentence
SEVERAL_RATIO = 0.50  # or this share, from another article, when the question asks for several
SEVERAL = re.compile(r"\b(both|each|reports|articles|accounts|coverage|sources|compared?)\b", re.I)
RECENT = re.compile(r"\b(last|latest|most recent(ly)?|recently|newest)\b", re.I)
CONFLICT_DEPTH = 20  # how far down the ranking to look for a source that disagrees
# "Did he say anything about the Turkish people? (Putin met Erdoğan St Petersburg)": a follow-up carries the
# previous question's words in a trailing parenthesis (qa.chat); they give the topic, the question's own
# words what is asked. This share of the word match is of the own words only.
OWN_SHARE = 0.5
_CARRIED = re.compile(r"\s*\([^()]*\)\s*$")
RECENT_BAND = 0.85  # "When did they last speak?": newest article among sentences this close in meaning
# Abstain when the sentences holding the answer's kind lack a rare name of the question ("meet in Hangzhou"):
RARE_NAME_DF = 1  # a name in at most this many passages is specific to one event,
NAME_PREFIX = 4  # and matches a word with the same first letters ("Turkish" ~ "Turkey", "Russian" ~ "Russia").
ROLE_WINDOW = 4  # "Which minister met?": a name must stand this close to "minister" in a sentence that has it


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
    years = set(re.findall(r"\b(?:19|20)\d\d\b", question))
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
    if any(coverage < cov and chosen[0].dense < cos for cov, cos in ABSTAIN_RULES):
        return abstention(question)
    if unknown_names(question, rarity) or unknown_focus(question, rarity):
        return abstention(question)  # asks about someone or something no article names
    if not any(has_answer_type(kind, c.sentence.text, question) for c in chosen):
        return abstention(question)  # on topic, but nothing of the kind asked for (a count, a name)
    typed = [c.sentence.text for c in chosen if holds_kind(kind, c.sentence.text, question)]
    if not parts and absent_names(question, typed, rarity):  # a compound question's names are in its parts
        return abstention(question)  # "When did they meet in Hangzhou?": the dated sentences are of other meetings
    role = asked_role(question)
    if role and not role_named(role, [c.sentence.text for c in chosen], question):
        return abstention(question)  # speaks of the minister asked about, but names none
    chosen = chosen if recent else _readable(chosen)  # "last": the latest first
    # Two events' dates ("between A and B", "before or after"): their difference is the answer, not a conflict.
    clash = None if parts and kind == "when" else _conflict(chosen, scored, set(wanted))
    if clash and parts and not _about_any(clash, answers_of_parts):
        clash = None  # a compound question: a disagreement counts when it is about a part's answer
    if clash is None:
        return _compose(question, chosen, None, scored)
    mine, ours, other, theirs = clash
    if kind == "when" and mine is chosen[0]:
        chosen = []  # the date asked for, and the other source's date: nothing else
    keep = [c for c in chosen if c is not mine and not same_passage(c.sentence.text, other.sentence.text)]
    chosen = [*keep[: MAX_SENTENCES - 2], mine]  # the two disagreeing sentences come last, in this order
    what = "date" if ours.kind == "date" else "number"
    note = (f"{mine.sentence.source} gives the {what} as {ours.text}; "
            f"{other.sentence.source} gives {theirs.text}")
    return _compose(question, [*chosen, other], (what, note), scored)


_SPLIT = re.compile(r",?\s+(?:and|while|but)\s+(?=(?:what|how|when|which|where|who|why|did|does|do|is|was|were)\b)"
                    r"|\s+compared (?:with|to)\s+|\s+versus\s+", re.I)
# "How many days passed between A and B?", "Did A come before or after B?": the date of each event.
_BETWEEN = re.compile(r"\bbetween\s+(?P<a>.+?)\s+and\s+(?P<b>.+)$", re.I)
_BEFORE_AFTER = re.compile(r"^(?:did|was|were|is|does)\s+(?P<a>.+?)\s+(?:come\s+|happen\s+|take place\s+)?"
                           r"(?:before or after|after or before)\s+(?P<b>.+)$", re.I)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_PRONOUN = re.compile(r"\b(he|she|it|they|him|her|them|his|its|their)\b", re.I)
_COMPARE = re.compile(r"^compare\s+(?P<a>.+?)\s+(?:with|to|and)\s+(?P<b>(?:what|how|when|which|where|who|why)\b.+)$",
                      re.I)
_PREPOSITION = re.compile(r"^(in|about|on|for|during|at|with|from|to|of)\s", re.I)


def parts_of(question: str) -> list[str]:
    """The sub-questions of a compound question; [] for a simple one.

    Examples: "What did Putin condemn in 2016, and what did he criticise in 2021?" ->
    ["What did Putin condemn in 2016", "what did he criticise in 2021 (Putin)"];
    "What goals did the leaders voice in 2016 and in 2022?" ->
    ["What goals did the leaders voice in 2016", "What goals did the leaders voice in 2022"];
    "How many days passed between the letter and the flights ban?" -> ["When the letter", "When the flights ban"]
    """
    q = question.strip().rstrip("?").strip()
    if question_kind(question) == "when":
        pair = _BETWEEN.search(q) or _BEFORE_AFTER.search(q)
        if pair and min(len(pair["a"].split()), len(pair["b"].split())) >= 2:
            return [f"When {pair['a']}", f"When {pair['b']}"]
    pair = _COMPARE.search(q.rstrip("."))
    pieces = [pair["a"], pair["b"]] if pair else [p.strip(" ,?") for p in _SPLIT.split(question) if len(p.split()) >= 3]
    if len(pieces) < 2:
        return _year_parts(q)
    names = " ".join(dict.fromkeys(n for n in re.findall(r"(?<!^)\b[A-Z][\w-]+", pieces[0]) if n.lower() not in MONTHS))
    return [pieces[0], *(_completed(pieces[0], p, names) for p in pieces[1:])]


def _completed(first: str, piece: str, names: str) -> str:
    """A later part as a question: a bare phrase takes the first part's head ("How many people died in the
    airport attack versus in the Donbass conflict" -> "How many people died in the Donbass conflict");
    a question with a pronoun carries the first part's names ("what did he say (Putin)")."""
    lead = _PREPOSITION.match(piece)
    cut = first.lower().rfind(f" {lead[1].lower()} ") if lead else -1
    if cut > 0:
        return f"{first[:cut]} {piece}"
    return f"{piece} ({names})" if names and _PRONOUN.search(piece) else piece


def _year_parts(q: str) -> list[str]:
    """One part per year when a question joins two years with "and": "in 2016 and in 2022",
    "about the 2016 letter and about the 2022 call", "in 2016 and 2022"."""
    years = list(dict.fromkeys(_YEAR.findall(q)))
    if len(years) != 2:
        return []
    first = q.find(years[0])
    join = q.find(" and ", first)
    if join < 0 or q.find(years[1], join) < 0:
        return []
    left, right = q[:join], q[join + len(" and "):]
    lead = _PREPOSITION.match(right)
    if lead:  # "... in 2016 and in 2022": the head is the left part up to its own "in"
        cut = left.lower().rfind(f" {lead[1].lower()} ")
        head = left[:cut] if cut > 0 else left[: left.find(years[0])]
        return [left, f"{head} {right}"]
    if right.startswith(years[1]):  # "the 2016 and 2022 articles": each year with the rest of the question
        rest = right[len(years[1]):]
        return [left + rest, left[:first] + right]
    return []


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
    wanted, kind, years = terms(text), question_kind(text), set(_YEAR.findall(text))
    return sorted((_score(s, vec, wanted, kind, rarity, years, bool(PHOTO.search(text))) for s in sentences
                   if _answer_like(s)), key=lambda x: -x.score)


def abstention(question: str) -> Answer:
    return Answer(text=ABSTAIN_TEXT, citations=[], abstained=True, mode="extractive", question=question)


def _answer_like(s: Sentence) -> bool:
    """A sentence that can answer: not the headline, not a fragment."""
    return len(s.text.split()) >= 4 and s.text.strip() != s.meta.get("title", "").strip()


_CODES_AND_DATES = re.compile(
    rf"{FULL_DATE.pattern}|{MONTH_DAY.pattern}|{MONTH_YEAR.pattern}|\b(?:19|20)\d\d\b|\b\w*[A-Za-z]-?\d+\w*\b"
)
_COUNT = re.compile(r"[\d,.]*\d[\d,.]*|\b(?:dozens?|hundreds?|thousands?|millions?|billions?|one|two|three|"
                    r"four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|several|half)\b", re.I)
_DURATION = re.compile(r"\b(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|several|few|many)"
                       r"[ -](minute|hour|day|week|month|year)s?\b", re.I)
# "At what time of day did they speak?" asks for an hour or a part of the day, not a date.
CLOCK_QUESTION = re.compile(r"\b(?:what|which) time\b|\bwhat hour\b|\btime of (?:the )?day\b", re.I)
CLOCK = re.compile(r"\b\d{1,2}(?:[:.]\d\d)?\s*(?:a\.?m\b|p\.?m\b|GMT\b|local time\b|o'clock\b)|"
                   r"\b(?:morning|afternoon|evening|night|midnight|noon|midday|dawn|dusk)\b", re.I)
_NAME = re.compile(r"\b[A-Z][a-zğüşöçı]+(?:\s+[A-Z][a-zğüşöçı]+)+\b")


def unknown_names(question: str, rarity: Rarity) -> list[str]:
    """Names in the question (capitalised, not its first word) that no article contains, by
    their words or their initials ("European Union" is known as "EU").

    Example: "How did the Biden administration react?" -> ["Biden"]
    """
    names = re.findall(r"(?<=\s)[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*", question)
    out = []
    for name in names:
        words = [w for w in name.split() if w.lower() not in MONTHS and w.lower() not in WEEKDAYS]
        acronym = "".join(w[0] for w in words).lower()
        if words and any(not rarity.known_like(t) for t in terms(" ".join(words))) and not (
            len(words) > 1 and rarity.known(acronym)
        ):
            out.append(" ".join(words))
    return out


def absent_names(question: str, texts: list[str], rarity: Rarity) -> list[str]:
    """Rare names of the question (see RARE_NAME_DF) that none of `texts` contains, by a word or initials.

    Example: ("On what date did they meet in Hangzhou?", ["... met in Sochi, Sept. 29, 2021."]) -> ["Hangzhou"];
    "Anadolu Agency" is found as "(AA)".
    """
    words = {fold(w) for t in texts for w in re.findall(r"[\w'’-]+", t)}
    prefixes = {w[:NAME_PREFIX] for w in words if len(w) > NAME_PREFIX}
    out = []
    for name in re.findall(r"(?<=\s)[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*", question):
        parts = [fold(w) for w in name.split() if w.lower() not in {*MONTHS, *WEEKDAYS, *STOP}]
        rare = any(0 < rarity.df.get(t, 0) <= RARE_NAME_DF for p in parts for t in terms(p))
        seen = any(p in words or (len(p) > NAME_PREFIX and p[:NAME_PREFIX] in prefixes) for p in parts)
        if parts and rare and not seen and "".join(p[0] for p in parts) not in words:
            out.append(name)
    return out


_FOCUS = re.compile(r"^(?:what|which)\s+(?:kinds?\s+of\s+|types?\s+of\s+|sorts?\s+of\s+)?(?P<what>[\w'’-]+)"
                    r"\s+(?:did|does|do|was|were|is|are|has|have|had|will|would|could|can)\b"
                    r"|^who\s+(?:was|is|were|are)\s+(?:the\s+)?(?:[\w'’-]+['’]s\s+)?(?:[\w-]+\s+)??(?P<who>[\w-]+)"
                    r"(?=\s+(?:of|to|in|at|for|during|on|who|that)\b|\s*\?|$)", re.I)


# "Which group claimed responsibility?": the word after "which" is the thing asked for, unless it is a verb
# ("Which came first?", "Which happened earlier?").
_WHICH_FOCUS = re.compile(r"^(?i:which)\s+(?P<which>[a-z][\w'’-]*)\b(?!\s+of\b)")
WHICH_VERBS = set("""came comes happened happens occurred occurs took followed preceded began started ended was
    is were are did does do has have had will would could can""".split())


def unknown_focus(question: str, rarity: Rarity) -> str | None:
    """The thing asked for, when no article has the word: "What gift did Erdogan bring?" -> "gift";
    "Who was Russia's ambassador to Turkey?" -> "ambassador"; "Which group claimed the attack?" -> "group".
    None when known or not found."""
    m, which = _FOCUS.search(question.strip()), _WHICH_FOCUS.search(question.strip())
    word = (m["what"] or m["who"]) if m else which and which["which"]
    if not word or word.lower() in STOP_FOCUS | WHICH_VERBS:
        return None
    stems = terms(word)
    return word if stems and not any(rarity.known_like(t) for t in stems) else None


# Words that name the kind of answer, not a thing an article must contain ("What role did it play?").
STOP_FOCUS = set("""else exactly other one ones way ways thing things kind type sort role date day days year years
    time times month months reason reasons purpose position stance view views response reaction reactions goal goals
    result results outcome effect effects impact part point points issue issues topic topics subject aim aims
    term terms status number amount name names place places city country countries event events period
    message messages step steps measure measures detail details fact facts sign signs change changes""".split())


# "Which Russian minister met his counterpart?", "the name of the pilot": a person or group asked for by role.
# A sentence that speaks of the role answers only with a name within ROLE_WINDOW words of it.
ROLES = ("pilot|minister|spokes(?:person|man|woman)|official|ambassador|envoy|diplomat|cleric|leader|president|"
         "premier|reporter|journalist|correspondent|photographer|author|commander|general|chief|head|governor|mayor|"
         "negotiator|mediator|group|militant|suspect|attacker|bomber|gunman|victim|organi[sz]er")
_ROLE = re.compile(rf"\b(?:which|name of(?: the| an?)?|who (?:was|is|were|are)(?: the| an?)?)\s+"
                   rf"(?:[\w'’-]+\s+){{0,2}}?(?P<role>(?:{ROLES})s?)\b", re.I)
_CAPITAL = re.compile(r"[A-Z][\w'’-]*")


def asked_role(question: str) -> str | None:
    """The role whose holder a question asks for. Example: "Which Russian minister met ...?" -> "minister"."""
    m = _ROLE.search(lead_clause(question))
    return m and m["role"].lower()


def role_named(role: str, texts: list[str], question: str) -> bool:
    """Does a sentence name someone within ROLE_WINDOW words of the role? True when no sentence has the role.

    Example: ("spokesperson", ["spokesperson Ibrahim Kalin said"], "Who was the spokesperson?") -> True;
    ("minister", ["Turkish and Russian ministers met in Sochi"], "Which Russian minister met in Sochi?") -> False
    """
    asked = {w.lower() for w in re.findall(r"[\w'’-]+", question)}
    stem, found = set(terms(role)), False
    for text in texts:
        words = re.findall(r"[\w'’-]+", text)
        at = [i for i, w in enumerate(words) if set(terms(w)) & stem]
        found = found or bool(at)
        named = [i for i, w in enumerate(words) if i and _CAPITAL.fullmatch(w) and w.lower() not in asked
                 and w.lower() not in MONTHS and w.lower() not in WEEKDAYS and w.lower() not in STOP]
        if any(abs(i - j) <= ROLE_WINDOW for i in at for j in named):
            return True
    return not found


def has_answer_type(kind: str, text: str, question: str) -> bool:
    """Does the sentence hold the kind of thing asked for, beyond what the question already says?

    Example: ("number", "bought S-400 batteries in 2019", "How many batteries?") -> False
    """
    if kind == "number":
        return _count_near(_CODES_AND_DATES.sub(" ", text), question)
    if kind == "duration":
        return bool(_DURATION.search(text))
    if kind == "clock":
        return bool(CLOCK.search(text))
    if kind == "name":
        asked = set(re.findall(r"\w+", question.lower()))
        return any(not set(n.lower().split()) <= asked for n in _NAME.findall(text))
    return True


def holds_kind(kind: str, text: str, question: str) -> bool:
    """Does the sentence hold the kind of thing asked for, a date for a "when" question included?

    Example: ("when", "They will also meet during the summit in Hangzhou.", "When did they meet?") -> False
    """
    return _fits(kind, text) if kind == "when" else has_answer_type(kind, text, question)


def _has_body(text: str) -> bool:
    """A body named in full (see BODY); it only ranks a sentence: "Erdogan's office said" answers too.

    Example: "a statement by the Presidential Communications Directorate said" -> True
    """
    return bool(BODY.search(text))


def _count_near(text: str, question: str) -> bool:
    """A count within four words of something the question asks about: "more than 40 people were killed"."""
    asked = set(terms(" ".join(w for w in question.split() if not w[:1].isupper())))
    words = re.findall(r"[\w-]+", text)
    counts = [i for i, w in enumerate(words) if _COUNT.fullmatch(w)]
    near = [i for i, w in enumerate(words) if set(terms(w)) & asked]
    return any(abs(i - j) <= 4 for i in counts for j in near)


# "What was the name of the pilot killed when Turkey downed the jet?": a "when" after another question word joins
# a clause; it does not ask for a date. "Was the ban still in force when the coup took place?" asks for one.
_LATER_WHEN = re.compile(r"\b(?:what|which|who|whom|whose|where|why|how)\b.*?\s(?P<when>when)\b", re.I)


def lead_clause(question: str) -> str:
    """The question up to a "when" that joins a clause (see _LATER_WHEN).

    Example: "where was erdogan when the coup began?" -> "where was erdogan "
    """
    m = _LATER_WHEN.search(question)
    return question[: m.start("when")] if m else question


def question_kind(question: str) -> str:
    """clock / when / duration / number / name / body / who / where / other.

    Example: "How many were killed?" -> "number"; "How many died when the jet was downed?" -> "number"
    """
    q = lead_clause(question.lower())
    if CLOCK_QUESTION.search(q):
        return "clock"
    if re.search(r"\b(when|what date|which date|what day|what year|which year|how long ago|before or after)\b"
                 r"|\bhow many (days|weeks|months|years)\b.*\b(between|passed|elapsed|separated|after|before)\b", q):
        return "when"
    if re.search(r"\bhow long\b(?! (before|after|ago|since|had|has|have))", q):
        return "duration"
    if re.search(r"\bhow (many|much)\b|\bwhat (number|percentage)\b", q):
        return "number"
    if re.search(r"\b(what|which) (was|is) the name\b|\bname of\b|\bwho (was|is) the\b", q):
        return "name"
    if BODY_QUESTION.search(question):
        return "body"
    if re.search(r"\bwho\b|\bwhose\b", q):
        return "who"
    if re.search(r"\bwhere\b|\bwhich (city|country|place)\b", q):
        return "where"
    return "other"


def own_terms(question: str) -> list[str] | None:
    """The question's own words when it carries others in a trailing parenthesis, else None.

    Example: "Did he say anything about the Turkish people? (Putin met Erdoğan)" -> ["anyth", "turkish", "peopl"]
    """
    return terms(_CARRIED.sub("", question)) if _CARRIED.search(question) else None


def _score(s: Sentence, qvec: np.ndarray, wanted: list[str], kind: str, rarity: Rarity, years: set[str],
           photo: bool = False, own: list[str] | None = None) -> Scored:
    stems = set(terms(s.text)) | set(terms(s.meta.get("title", "")))
    dense = float(np.dot(qvec, s.vector))
    lexical = rarity.coverage(wanted, set(terms(s.text)))
    if own:  # a follow-up: its own words weigh apart from the carried ones
        known = [t for t in own if rarity.known(t)]  # "anything" is in no article: it weighs nothing here
        lexical = (1 - OWN_SHARE) * lexical + OWN_SHARE * rarity.coverage(known, set(terms(s.text)))
    fits = _fits_near(kind, s.text, wanted) if kind == "when" else (1.0 if _fits(kind, s.text) else 0.0)
    score = W_DENSE * dense + W_LEXICAL * lexical + W_TYPE * fits + W_RANK / (1 + s.chunk_rank)
    if years and s.meta.get("date", "")[:4] in years:
        score += W_YEAR  # "What happened in 2022?": articles of that year first
    if s.caption and not photo:
        score -= W_CAPTION
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
    if kind == "body":
        return _has_body(text)
    if kind == "clock":
        return bool(CLOCK.search(text))
    if kind in ("who", "where", "name"):
        return bool(re.search(r"\b[A-Z][a-z]+", text[1:]))
    return False


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


def _conflict(chosen: list[Scored], scored: list[Scored], about: set[str]
              ) -> tuple[Scored, Claim, Scored, Claim] | None:
    """Two sources that state a different date or number for an event the question names
    (see qa.conflicts); the chosen sentences are tried first."""
    pool = _unique_by_text([*chosen, *scored[:CONFLICT_DEPTH]])
    stated = [(x, c) for x in pool for c in claims(x.sentence.text, _published(x.sentence)) if c.event & about]
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
