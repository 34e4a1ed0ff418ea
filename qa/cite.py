"""Check an LLM's reply against the passages it was given, sentence by sentence.

- A marker for a passage that was not given (`[9]` of 8) is removed.
- Each cited sentence is checked (`qa.support.check`) against the best sentence, or pair of
  adjacent sentences, of each passage it cites; a sentence citing several passages may also be
  supported by their quotes together ("July 15 [1], June 18 [2]": a disagreement keeps both).
- A sentence citing nothing is checked against every passage and cited when one supports it.
- Citations point at exact spans of the source files and are numbered 1..n in reading order.
- Sentences no passage supports keep their text, lose their markers (no link vouches for a claim the
  check rejected) and are listed in `unsupported`.
- A sentence that claims nothing ("Yes.", a stray "[1][2]") is not checked and cites nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.sentences import split_sentences
from index.spans import Span
from qa.extractive import passage_of
from qa.prompt import ABSTAIN, Numbered
from qa.retrieve import Sentence, same_passage
from qa.schema import Citation, Passage
from qa.support import anchors, best, check
from qa.terms import terms

MARKS = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_AFTER_STOP = re.compile(r"([.!?][\"”’)]*)((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)")  # "30. [1]" -> "30 [1]."
_ABSTAINS = re.compile(r"^\W*the (articles|passages|sources) (do not|don't|don’t|does not) "
                       r"(say|answer|mention|cover|contain|state)", re.I)
# After "The articles don't say", what makes a reply more than an abstention: another sentence or clause.
_MORE = re.compile(r"[.!?]\s+\S|[;:]|\b(but|however|although|though|yet|only|except)\b", re.I)
_THINKING = re.compile(r"<think>.*?</think>", re.S)  # reasoning models served locally print this first
# Small models echo the question or label their answer: "Question: When ...?\nAnswer: It was ..." -> "It was ..."
_ECHO = re.compile(r"^\s*(?:question:[^\n]*\n+)?\s*(?:answer:\s*)?", re.I)
Spans = dict[tuple[str, int, int], Citation]  # (source, start, end) -> its citation


@dataclass
class Checked:
    text: str
    citations: list[Citation]
    unsupported: list[str]
    claims: int  # sentences that state something checkable


def clean(reply: str) -> str:
    """The reply without reasoning blocks, markers moved before the full stop they followed."""
    return _AFTER_STOP.sub(r"\2\1", _ECHO.sub("", _THINKING.sub("", reply).strip(), count=1)).strip()


def abstains(reply: str) -> bool:
    """The model said the passages do not answer, and nothing else (whatever it cited).

    Example: "The articles don't say [1]." -> True; "The articles don't say why, but X [1]." -> False
    """
    plain = MARKS.sub("", clean(reply)).strip()
    return plain == ABSTAIN or (bool(_ABSTAINS.match(plain)) and not _MORE.search(plain))


def check_reply(reply: str, passages: list[Numbered], retrieved: list[Sentence]) -> Checked:
    """The reply with its citations checked, mapped to exact spans and renumbered."""
    reply = clean(reply)
    spans: Spans = {}
    out: list[str] = []
    unsupported: list[str] = []
    claims = 0
    at = 0
    for span in split_sentences(reply, [Span(0, len(reply))]):
        text, supported = _sentence(reply[span.start : span.end], passages, spans, retrieved)
        out += [reply[at : span.start], text]
        at = span.end
        claims += supported is not None
        if supported is False:
            unsupported.append(text)
    out.append(reply[at:])
    text = re.sub(r"[ \t]{2,}", " ", "".join(out)).strip()
    return Checked(text, sorted(spans.values(), key=lambda c: c.id), unsupported, claims)


def segments(sentence: str) -> list[tuple[str, list[int]]]:
    """Text pieces, each with the passage numbers cited right after it.

    Example: "A [1] and B [2][3]." -> [("A", [1]), (" and B", [2, 3]), (".", [])]
    """
    out: list[tuple[str, list[int]]] = []
    at = 0
    for m in MARKS.finditer(sentence):
        numbers = [int(x) for x in re.findall(r"\d+", m.group(1))]
        if out and m.start() == at:
            out[-1][1].extend(numbers)
        else:
            out.append((sentence[at : m.start()], numbers))
        at = m.end()
    out.append((sentence[at:], []))
    return out


def _sentence(
    sentence: str, passages: list[Numbered], spans: Spans, retrieved: list[Sentence]
) -> tuple[str, bool | None]:
    """The sentence with checked markers, and whether its cited passages support it (None: it claims
    nothing to check). An unsupported sentence comes back without markers and cites nothing."""
    given = {p.n: p for p in passages}
    pieces = [(text, [given[n] for n in dict.fromkeys(ns) if n in given]) for text, ns in segments(sentence)]
    plain = "".join(text for text, _ in pieces).strip()
    if not terms(plain) and not anchors(plain):
        return plain, None
    if not any(ps for _, ps in pieces):
        return _uncited(plain, passages, spans, retrieved)
    picks = [(text, [pick(_claim(text, plain), p) for p in ps]) for text, ps in pieces]
    if not _supported(plain, picks):
        return plain, False
    rebuilt = ""
    for text, chosen in picks:
        ids = dict.fromkeys(_cite(spans, p, retrieved) for p in chosen)
        rebuilt += text + (" " + "".join(f"[{i}]" for i in ids) if ids else "")
    return rebuilt.strip(), True


def _supported(plain: str, picks: list[tuple[str, list[Passage]]]) -> bool:
    """One quote supports the sentence, or all its quotes together, or each clause its own quote."""
    quotes = [p.quote for _, chosen in picks for p in chosen]
    if any(check(plain, q).supported for q in quotes):
        return True
    if len(quotes) > 1 and check(plain, " ".join(quotes)).supported:
        return True
    clauses = [(text, chosen) for text, chosen in picks if chosen]
    return len(clauses) > 1 and all(any(check(t, p.quote).supported for p in chosen) for t, chosen in clauses)


def _uncited(plain: str, passages: list[Numbered], spans: Spans, retrieved: list[Sentence]) -> tuple[str, bool]:
    """A sentence without markers: cited to the passage that supports it, if any does."""
    candidates = [pick(plain, p) for p in passages if p.sentences]
    if not candidates:
        return plain, False
    i, support = best(plain, [c.quote for c in candidates])
    if not support.supported:
        return plain, False
    body, stop = re.match(r"(.*?)([.!?][\"”’)]*)?$", plain, re.S).groups()  # type: ignore[union-attr]
    return f"{body} [{_cite(spans, candidates[i], retrieved)}]{stop or ''}", True


def _claim(text: str, plain: str) -> str:
    """What a marker vouches for: the clause before it, or the whole sentence when the clause is a stub."""
    return text if len(terms(text)) >= 3 else plain


def pick(claim: str, passage: Numbered) -> Passage:
    """The sentence of the passage (or two adjacent ones) that best supports `claim`."""
    singles = [passage_of(s) for s in sorted(passage.sentences, key=lambda s: s.start)]
    if not singles:
        return _whole(passage)
    i, support = best(claim, [s.quote for s in singles])
    if support.supported or len(singles) < 2:
        return singles[i]
    pairs = [_joined(a, b, passage) for a, b in zip(singles, singles[1:])]
    j, paired = best(claim, [p.quote for p in pairs])
    return pairs[j] if paired.supported else singles[i]


def _joined(a: Passage, b: Passage, passage: Numbered) -> Passage:
    offset = int(passage.hit.meta["start"])
    quote = passage.hit.text[a.start - offset : b.end - offset]
    return Passage(a.source, quote, a.start, b.end, a.title, a.date, a.outlet)


def _whole(passage: Numbered) -> Passage:
    meta, start = passage.hit.meta, int(passage.hit.meta["start"])
    return Passage(passage.source, passage.hit.text, start, start + len(passage.hit.text),
                   meta.get("title", ""), meta.get("date", ""), meta.get("outlet", ""))


def _cite(spans: Spans, p: Passage, retrieved: list[Sentence]) -> int:
    """The id of the citation for span `p`, numbered in order of first use."""
    key = (p.source, p.start, p.end)
    if key not in spans:
        also = _repeats(p, retrieved)
        spans[key] = Citation(**vars(p), id=len(spans) + 1, also=also)
    return spans[key].id


def _repeats(p: Passage, retrieved: list[Sentence]) -> list[Passage]:
    """The same sentence as printed by other articles."""
    seen = {p.source}
    out = []
    for s in retrieved:
        if s.source not in seen and same_passage(s.text, p.quote):
            seen.add(s.source)
            out.append(passage_of(s))
    return out
