"""Reading a question: whether it can be asked at all (`check_question`), the kind of answer it asks
for, its sub-questions, and what an answer of that kind looks like in a sentence (a date, a count, a name...).

The extractive answerer ranks sentences with these and `qa.abstain` checks the chosen ones.
"""

from __future__ import annotations

import re

from index.dates import BARE_MONTH, FULL_DATE, MONTH_DAY, MONTH_YEAR, MONTHS, WEEKDAY
from qa.errors import QuestionError
from qa.terms import MAGNITUDES, terms

MAX_QUESTION_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
KINDS = ("clock", "when", "duration", "number", "name", "body", "who", "where", "other")
DATE_PATTERNS = (FULL_DATE, MONTH_DAY, MONTH_YEAR, WEEKDAY, BARE_MONTH)
PHOTO = re.compile(r"\b(photo\w*|picture\w*|pictured|caption\w*|image\w*)\b", re.I)
SEVERAL = re.compile(r"\b(both|each|reports|articles|accounts|coverage|sources|compared?)\b", re.I)
RECENT = re.compile(r"\b(last|latest|most recent(ly)?|recently|newest)\b", re.I)
YEAR = re.compile(r"\b(?:19|20)\d\d\b")
# A question about time, beyond "when": "closer in time", "still in effect when", "how many weeks separated".
ABOUT_TIME = re.compile(r"\b(when|dates?|days?|weeks?|months?|years?|time|before|after|earlier|later|first|since|"
                        r"until|still|closer|sooner|ago)\b", re.I)
# "At what time of day did they speak?" asks for an hour or a part of the day, not a date.
CLOCK_QUESTION = re.compile(r"\b(?:what|which) time\b|\bwhat hour\b|\btime of (?:the )?day\b", re.I)
CLOCK = re.compile(r"\b\d{1,2}(?:[:.]\d\d)?\s*(?:a\.?m\b|p\.?m\b|GMT\b|local time\b|o'clock\b)|"
                   r"\b(?:morning|afternoon|evening|night|midnight|noon|midday|dawn|dusk)\b", re.I)
# "Which office released the statement?" asks for a body by its name: capitalised words ending in one
# of these ("Presidential Communications Directorate", "Foreign Ministry", "Anadolu Agency").
BODY_HEADS = ("Directorate|Ministry|Office|Agency|Council|Committee|Commission|Presidency|Department|Service|"
              "Bureau|Administration|Organi[sz]ation|Parliament|Assembly|Institute|Party|Court|Bank")
BODY = re.compile(rf"\b(?:[A-Z][\w'’-]+\s+)+(?:{BODY_HEADS})\b")
BODY_QUESTION = re.compile(r"\b(?:which|what)\s+(?:[\w'’-]+\s+)?(?:office|organi[sz]ation|agency|ministry|body|"
                           r"institution|department|authority|directorate)\b", re.I)
# "What was the name of the pilot killed when Turkey downed the jet?": a "when" after another question word joins
# a clause; it does not ask for a date. "Was the ban still in force when the coup took place?" asks for one.
_LATER_WHEN = re.compile(r"\b(?:what|which|who|whom|whose|where|why|how)\b.*?\s(?P<when>when)\b", re.I)
# A follow-up carries the previous question's words in a trailing parenthesis (qa.chat).
_CARRIED = re.compile(r"\s*\([^()]*\)\s*$")


def check_question(question: str) -> str:
    """The question cleaned of control characters, or a QuestionError saying what to fix."""
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    bad = re.search(r"[\ud800-\udfff]", question)  # argv's or JSON's stand-in for bytes that are not UTF-8
    if bad:
        raise QuestionError(f"The question is not UTF-8 text (a stray byte at character {bad.start() + 1}); "
                            "type it again in a UTF-8 terminal or editor.")
    cleaned = _CONTROL.sub(" ", question).strip()
    if not cleaned:
        raise QuestionError("The question is empty. Type a question about the articles.")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"The question is {len(cleaned):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. "
            "Ask a shorter question."
        )
    if not re.search(r"\w", cleaned):
        raise QuestionError("The question has no words. Type a question about the articles.")
    return cleaned


def question_kind(question: str) -> str:
    """One of KINDS.

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
    if re.search(r"\bwhere\b|\b(which|what) ([\w'’.-]+ ){0,2}?(city|cities|country|countries|towns?|places?|"
                 r"venues?|locations?|capitals?|regions?)\b", q):  # "in which Chinese city", "what St Petersburg venue"
        return "where"
    return "other"


def lead_clause(question: str) -> str:
    """The question up to a "when" that joins a clause (see _LATER_WHEN).

    Example: "where was erdogan when the coup began?" -> "where was erdogan "
    """
    m = _LATER_WHEN.search(question)
    return question[: m.start("when")] if m else question


def own_terms(question: str) -> list[str] | None:
    """The question's own words when it carries others in a trailing parenthesis, else None.

    Example: "Did he say anything about the Turkish people? (Putin met Erdoğan)" -> ["anyth", "turkish", "peopl"]
    """
    return terms(_CARRIED.sub("", question)) if _CARRIED.search(question) else None


def fits(kind: str, text: str) -> bool:
    """Does the sentence look like an answer of this kind (for ranking; `qa.abstain` is stricter)?

    Example: ("when", "They met on Aug. 9.") -> True; ("number", "They met in Sochi.") -> False
    """
    if kind == "when":
        return any(p.search(text) for p in DATE_PATTERNS) or bool(YEAR.search(text))
    if kind == "number":
        return bool(re.search(rf"\d|\b(?:{MAGNITUDES})\b", text))
    if kind == "body":
        return bool(BODY.search(text))  # it only ranks: "Erdogan's office said" answers too
    if kind == "clock":
        return bool(CLOCK.search(text))
    if kind in ("who", "where", "name"):
        return bool(re.search(r"\b[A-Z][a-z]+", text[1:]))
    return False


def fits_near(kind: str, text: str, wanted: list[str]) -> float:
    """1 when a date sits within four words of a question word ("the July 15 coup"), 0.5 anywhere."""
    if not fits(kind, text):
        return 0.0
    words = re.findall(r"\w+", text)
    stems = [set(terms(w)) for w in words]
    hits = [i for i, st in enumerate(stems) if st & set(wanted)]
    for m in (m for p in DATE_PATTERNS for m in p.finditer(text)):
        at = len(re.findall(r"\w+", text[: m.start()]))
        if any(abs(at - h) <= 4 for h in hits):
            return 1.0
    return 0.5


# Compound questions: "..., and what did he ...", "A compared with B", "A versus B".
_SPLIT = re.compile(r",?\s+(?:and|while|but)\s+(?=(?:what|how|when|which|where|who|why|did|does|do|is|was|were)\b)"
                    r"|\s+compared (?:with|to)\s+|\s+versus\s+", re.I)
# "How many days passed between A and B?", "Did A come before or after B?": the date of each event.
_BETWEEN = re.compile(r"\bbetween\s+(?P<a>.+?)\s+and\s+(?P<b>.+)$", re.I)
_BEFORE_AFTER = re.compile(r"^(?:did|was|were|is|does)\s+(?P<a>.+?)\s+(?:come\s+|happen\s+|take place\s+)?"
                           r"(?:before or after|after or before)\s+(?P<b>.+)$", re.I)
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
    years = list(dict.fromkeys(YEAR.findall(q)))
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
