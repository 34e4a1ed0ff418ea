"""Clean: find the article's own paragraphs, as character spans of the untouched file text.

Cleaning never rewrites text. It only decides which lines are the article, so every later span
(chunk, sentence, citation) is `text[start:end]` of the original file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from index.spans import Span

# A whole line that is page furniture, not article text.
_FURNITURE = re.compile(
    r"""^(?:
      A\+\s?A-                                   # font-size widget
    | content\ retrieved\ from\b.*               # scraper footer
    | blog\ comments\ powered\ by\ disqus
    | (?:warning:\ )?comments\ that\ contain\b.* # reader-comment rules
    | talk\ about\ it!?
    | home\ ?page
    | about\ the\ author
    | tags?:.*
    | written\ by\b.*\bposted\ in\b.*
    | (?:share|follow\ us|subscribe|advertisement|related\ articles?|read\ more)\b.{0,40}
    | news\ \d{1,2}\ [a-z]{3}\ \d{2}             # dateline widget, e.g. "News 09 Aug 16"
    | \d{1,2}\ [a-z]{3}\ \d{2}                   # link-list date, e.g. "19 Jan 18"
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# A line that opens a block of links to other stories.
_LINKS_HEADER = re.compile(r"^(?:also in\b.*|more from\b.*|related\b.*|more stories\b.*)$", re.IGNORECASE)
_TRAILING_HEADER = re.compile(r"^(?:premium selection|latest news\b.*|most read\b.*|recommended\b.*)$", re.I)
# Section label glued to the next word by a scraper: "TURKEYRussian President ..."
_GLUED_LABEL = re.compile(r"^([A-Z]{3,})(?=[A-Z][a-z])")
_SENTENCE_END = re.compile(r"""[.!?]["'”’)]*$""")
_NEAR_DUPLICATE = 0.85  # word-sequence similarity above which a paragraph is a repeat


@dataclass(frozen=True)
class Cleaned:
    """The kept paragraphs of an article, and what was dropped and why (for tests and debugging)."""

    paragraphs: list[Span]
    dropped: list[tuple[Span, str]]


def lines(text: str) -> list[Span]:
    """Non-blank lines, stripped of surrounding white space. Example: " a\\n\\nb" -> [1:2], [4:5]."""
    spans = []
    for m in re.finditer(r"[^\n]+", text):
        raw = m.group()
        left = len(raw) - len(raw.lstrip())
        right = len(raw.rstrip())
        if right > left:
            spans.append(Span(m.start() + left, m.start() + right))
    return spans


def clean(text: str) -> Cleaned:
    """Keep the article's paragraphs; drop furniture, link blocks, tag lines and repeats."""
    kept: list[Span] = []
    dropped: list[tuple[Span, str]] = []
    candidates = lines(text)
    trailing = _trailing_block_start(text, candidates)
    in_links = False
    for i, span in enumerate(candidates):
        line = text[span.start : span.end]
        reason = _furniture_reason(line, i, in_links, i >= trailing)
        in_links = bool(_LINKS_HEADER.match(line)) or (in_links and reason == "link list")
        if reason is None:
            span = _without_glued_label(text, span)
            reason = _repeat_reason(text, span, kept)
        if reason is None:
            kept.append(span)
        else:
            dropped.append((span, reason))
    return Cleaned(kept, dropped)


def _furniture_reason(line: str, index: int, in_links: bool, trailing: bool) -> str | None:
    if trailing:
        return "links to other stories"
    if _FURNITURE.match(line):
        return "page furniture"
    if _LINKS_HEADER.match(line):
        return "link list"
    if in_links and _is_headline(line):
        return "link list"
    if index > 0 and _is_label(line):
        return "tag or label line"
    return None


def _trailing_block_start(text: str, candidates: list[Span]) -> int:
    """Index of a trailing "Premium Selection"/"Latest News" block that runs to the end, or past the end."""
    for i, span in enumerate(candidates):
        if _TRAILING_HEADER.match(text[span.start : span.end]):
            rest = [text[s.start : s.end] for s in candidates[i + 1 :]]
            if rest and all(_is_headline(r) or _FURNITURE.match(r) or len(r.split()) < 60 for r in rest):
                return i
    return len(candidates)


def _is_headline(line: str) -> bool:
    """A short line with no closing punctuation, as link lists show other stories' titles."""
    return len(line.split()) <= 20 and not _SENTENCE_END.search(line)


def _is_label(line: str) -> bool:
    """A few capitalised words and nothing else: tags, places, an agency name ("Anadolu Agency")."""
    words = re.findall(r"[^\s,;|/]+", line)
    return 0 < len(words) <= 4 and not _SENTENCE_END.search(line) and all(w[:1].isupper() for w in words)


def _without_glued_label(text: str, span: Span) -> Span:
    m = _GLUED_LABEL.match(text[span.start : span.end])
    return Span(span.start + m.end(1), span.end) if m else span


def _repeat_reason(text: str, span: Span, kept: list[Span]) -> str | None:
    words = _words(text[span.start : span.end])
    for other in kept:
        other_words = _words(text[other.start : other.end])
        if words == other_words:
            return "repeated paragraph"
        if min(len(words), len(other_words)) >= 8:
            if SequenceMatcher(None, words, other_words, autojunk=False).ratio() >= _NEAR_DUPLICATE:
                return "near-verbatim repeat"
    return None


def _words(line: str) -> list[str]:
    """Lower-case words with quote marks and punctuation ignored. Example: '“Hi,” he said' -> hi he said."""
    return re.findall(r"\w+", line.lower())
