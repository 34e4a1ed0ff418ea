"""When the articles do not answer: the evidence the extractive answerer checks before it quotes.

Not one cosine cut-off: how much of the question's weight (rare words weigh more) the chosen
sentences hold and how close in meaning they are; names or things the question asks about that no
article has; and whether a chosen sentence holds the kind of answer asked for (a count, a date, a
name beside the role asked about). Thresholds were tuned by hand on eval/dev.jsonl, never on
eval/questions.jsonl, which measures them.
"""

from __future__ import annotations

import re

from index.dates import FULL_DATE, MONTH_DAY, MONTH_YEAR, MONTHS, WEEKDAYS
from qa.question import CLOCK, fits, lead_clause
from qa.schema import Answer
from qa.terms import MAGNITUDES, NUMBER_WORDS, STOP, Rarity, fold, terms, visible

ABSTAIN_TEXT = "The articles don't say. None of the indexed articles answers this question."
# Abstain when the best sentences hold little of the question's weight AND are not close in
# meaning: paraphrased questions have low word overlap, off-topic ones have both low.
ABSTAIN_RULES = ((0.10, 0.55), (0.40, 0.40))  # (coverage below, cosine below) pairs
# Abstain when the sentences holding the answer's kind lack a rare name of the question ("meet in Hangzhou"):
RARE_NAME_DF = 1  # a name in at most this many passages is specific to one event,
NAME_PREFIX = 4  # and matches a word with the same first letters ("Turkish" ~ "Turkey", "Russian" ~ "Russia").
ROLE_WINDOW = 4  # "Which minister met?": a name must stand this close to "minister" in a sentence that has it


def abstention(question: str) -> Answer:
    return Answer(text=ABSTAIN_TEXT, citations=[], abstained=True, mode="extractive", question=question)


def why_abstain(question: str, kind: str, texts: list[str], coverage: float, closeness: float, rarity: Rarity,
                compound: bool = False) -> str | None:
    """Why the chosen sentences `texts` do not answer, or None when they do.

    `coverage`: the share of the question's weight they hold; `closeness`: the best one's cosine;
    `compound`: the question has sub-questions (their names are checked in their own parts).
    Example: ("What is the capital of Australia?", "other", [...], 0.0, 0.1, rarity) -> "off topic"
    """
    if any(coverage < cov and closeness < cos for cov, cos in ABSTAIN_RULES):
        return "off topic"
    if unknown_names(question, rarity) or unknown_focus(question, rarity):
        return "asks about someone or something no article names"
    if not any(has_answer_type(kind, t, question) for t in texts):
        return f"on topic, but no {kind} of the kind asked for"
    typed = [t for t in texts if holds_kind(kind, t, question)]
    if not compound and absent_names(question, typed, rarity):
        return "the sentences of the kind asked for are about another event"  # "When did they meet in Hangzhou?"
    role = asked_role(question)
    if role and not role_named(role, texts, question):
        return f"names no {role} of the kind asked about"
    return None


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
    words = {fold(w) for t in texts for w in re.findall(r"[\w'’-]+", visible(t))}
    prefixes = {w[:NAME_PREFIX] for w in words if len(w) > NAME_PREFIX}
    out = []
    for name in re.findall(r"(?<=\s)[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*", question):
        parts = [fold(w) for w in name.split() if w.lower() not in {*MONTHS, *WEEKDAYS, *STOP}]
        rare = any(0 < rarity.df.get(t, 0) <= RARE_NAME_DF for p in parts for t in terms(p))
        seen = any(p in words or (len(p) > NAME_PREFIX and p[:NAME_PREFIX] in prefixes) for p in parts)
        if parts and rare and not seen and "".join(p[0] for p in parts) not in words:
            out.append(name)
    return out


_FOCUS = re.compile(r"^(?:(?:in|at|on|from|to|for|with|by|during|under)\s+)?(?:what|which)\s+"
                    r"(?:kinds?\s+of\s+|types?\s+of\s+|sorts?\s+of\s+)?(?P<what>[\w'’-]+)"
                    r"\s+(?:did|does|do|was|were|is|are|has|have|had|will|would|could|can)\b"
                    r"|^who\s+(?:was|is|were|are|acted as|served as|worked as)\s+(?:the\s+|an?\s+)?"
                    r"(?:[\w'’-]+['’]s\s+)?(?:[\w-]+\s+)??(?P<who>[\w-]+)"
                    r"(?=\s+(?:of|to|in|at|for|during|on|who|that)\b|\s*\?|$)", re.I)
# "Which group claimed responsibility?": the word after "which" is the thing asked for, unless it is a verb
# ("Which came first?", "Which happened earlier?").
_WHICH_FOCUS = re.compile(r"^(?i:which)\s+(?P<which>[a-z][\w'’-]*)\b(?!\s+of\b)")
WHICH_VERBS = set("""came comes happened happens occurred occurs took followed preceded began started ended was
    is were are did does do has have had will would could can""".split())
# Words that name the kind of answer, not a thing an article must contain ("What role did it play?").
STOP_FOCUS = set("""else exactly other one ones way ways thing things kind type sort role date day days year years
    time times month months reason reasons purpose position stance view views response reaction reactions goal goals
    result results outcome effect effects impact part point points issue issues topic topics subject aim aims
    term terms status number amount name names place places city country countries event events period
    message messages step steps measure measures detail details fact facts sign signs change changes""".split())


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


# "Which Russian minister met his counterpart?", "the name of the pilot": a person or group asked for by role.
# A sentence that speaks of the role answers only with a name within ROLE_WINDOW words of it.
ROLES = ("pilot|minister|spokes(?:person|man|woman)|official|ambassador|envoy|diplomat|cleric|leader|president|"
         "premier|reporter|journalist|correspondent|photographer|author|commander|general|chief|head|governor|mayor|"
         "negotiator|mediator|group|militant|suspect|attacker|bomber|gunman|victim|organi[sz]er")
_AUX = r"(?:did|does|do|was|were|is|are|has|have|had|will|would|can|could)\b"
# "Which Russian minister met ...?" asks for a role's holder; "Which did the leaders discuss?" does not.
_ROLE = re.compile(rf"\b(?:which|name of(?: the| an?)?|who (?:was|is|were|are)(?: the| an?)?)\s+"
                   rf"(?:(?!{_AUX})[\w'’-]+\s+){{0,2}}?(?P<role>(?:{ROLES})s?)\b", re.I)
_ROLE_WORD = re.compile(rf"(?:{ROLES})s?", re.I)
_CAPITAL = re.compile(r"[A-Z][\w'’-]*")


def asked_role(question: str) -> str | None:
    """The role whose holder a question asks for. Example: "Which Russian minister met ...?" -> "minister"."""
    m = _ROLE.search(lead_clause(question))
    return m and m["role"].lower()


def _same_role(word: str, role: str) -> bool:
    """Example: ("spokesperson", "spokesman") -> True; ("presidency", "president") -> False."""
    return bool(_ROLE_WORD.fullmatch(word)) and word[:5].lower() == role[:5]


def role_named(role: str, texts: list[str], question: str) -> bool:
    """Does a sentence name someone within ROLE_WINDOW words of the role ("spokesman" ~ "spokesperson")?
    False when no sentence speaks of the role: "Which ministers attended?" is not answered without one.

    Example: ("spokesperson", ["spokesperson Ibrahim Kalin said"], "Who was the spokesperson?") -> True;
    ("minister", ["Turkish and Russian ministers met in Sochi"], "Which Russian minister met in Sochi?") -> False
    """
    asked = {w.lower() for w in re.findall(r"[\w'’-]+", question)}
    for text in texts:
        words = re.findall(r"[\w'’-]+", text)
        at = [i for i, w in enumerate(words) if _same_role(w, role)]
        named = [i for i, w in enumerate(words) if i and _CAPITAL.fullmatch(w) and w.lower() not in asked
                 and w.lower() not in MONTHS and w.lower() not in WEEKDAYS and w.lower() not in STOP]
        if any(abs(i - j) <= ROLE_WINDOW for i in at for j in named):
            return True
    return False


_CODES_AND_DATES = re.compile(
    rf"{FULL_DATE.pattern}|{MONTH_DAY.pattern}|{MONTH_YEAR.pattern}|\b(?:19|20)\d\d\b|\b\w*[A-Za-z]-?\d+\w*\b"
)
_COUNT = re.compile(rf"[\d,.]*\d[\d,.]*|\b(?:{MAGNITUDES}|{'|'.join(NUMBER_WORDS)}|several|half)\b", re.I)
_DURATION = re.compile(r"\b(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|several|few|many)"
                       r"[ -](minute|hour|day|week|month|year)s?\b", re.I)
_NAME = re.compile(r"\b[A-Z][a-zğüşöçı]+(?:\s+[A-Z][a-zğüşöçı]+)+\b")


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
    return fits(kind, text) if kind == "when" else has_answer_type(kind, text, question)


def _count_near(text: str, question: str) -> bool:
    """A count within four words of something the question asks about: "more than 40 people were killed"."""
    asked = set(terms(" ".join(w for w in question.split() if not w[:1].isupper())))
    words = re.findall(r"[\w-]+", text)
    counts = [i for i, w in enumerate(words) if _COUNT.fullmatch(w)]
    near = [i for i, w in enumerate(words) if set(terms(w)) & asked]
    return any(abs(i - j) <= 4 for i in counts for j in near)
