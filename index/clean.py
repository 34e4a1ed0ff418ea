"""Clean: find the article's own paragraphs, as character spans of the untouched file text.

Cleaning never rewrites text. It only decides which lines are the article, so every later span
(chunk, sentence, citation) is `text[start:end]` of the original file.
"""

from __future__ import annotations

import math
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
# Prefix words two paragraphs of 8+ words must share to be compared (see _Repeats); at most
# _overlap(8) == 6, the fewest words two 8-word near-repeats share.
_SHARED_PREFIX_WORDS = 3


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
    repeats = _Repeats(_line_counts(text, candidates))
    in_links = False
    for i, span in enumerate(candidates):
        line = text[span.start : span.end]
        reason = _furniture_reason(line, i, in_links, i >= trailing)
        in_links = bool(_LINKS_HEADER.match(line)) or (in_links and reason == "link list")
        words: list[str] = []
        if reason is None:
            span = _without_glued_label(text, span)
            words = _words(text[span.start : span.end])
            reason = repeats.reason(words)
        if reason is None:
            kept.append(span)
            repeats.add(words)
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


class _Repeats:
    """The kept paragraphs' words, indexed so that finding a repeat costs about the same for each new line.

    A near-verbatim repeat has a SequenceMatcher ratio of at least _NEAR_DUPLICATE, so the two share at
    least a = `_overlap(n)` of the n words of each (ratio <= 2 * shared / (len a + len b)). Prefix
    filtering (Chaudhuri et al., 2006; Xiao et al., 2008): order each paragraph's words rarest first, one
    order for all; then the first k shared words lie within the first n - a + k words of each. Only
    paragraphs sharing k of those prefix words are compared, in the order they were kept, so the result
    is the one comparing against every kept paragraph gives.
    Example: 8,000 short lines take about a second; comparing each with every kept one took minutes.
    """

    def __init__(self, lines_with: dict[str, int]) -> None:
        self.lines_with = lines_with  # word -> lines of the whole text holding it: the fixed order
        self.exact: dict[tuple[str, ...], int] = {}  # words -> the first kept paragraph with them
        self.words: list[list[str]] = []  # of each kept paragraph
        self.prefixes: dict[tuple[str, int], list[int]] = {}  # (word, its k-th occurrence) -> kept paragraphs

    def reason(self, words: list[str]) -> str | None:
        candidates = set()
        if (first := self.exact.get(tuple(words))) is not None:
            candidates.add(first)
        if len(words) >= 8:
            hits: dict[int, int] = {}
            for token in self._prefix(words):
                for k in self.prefixes.get(token, ()):
                    hits[k] = hits.get(k, 0) + 1
            candidates.update(k for k, h in hits.items() if h >= _SHARED_PREFIX_WORDS)
        for k in sorted(candidates):
            other = self.words[k]
            if words == other:
                return "repeated paragraph"
            if min(len(words), len(other)) >= 8:
                matcher = SequenceMatcher(None, words, other, autojunk=False)
                if matcher.quick_ratio() >= _NEAR_DUPLICATE and matcher.ratio() >= _NEAR_DUPLICATE:
                    return "near-verbatim repeat"
        return None

    def add(self, words: list[str]) -> None:
        k = len(self.words)
        self.words.append(words)
        self.exact.setdefault(tuple(words), k)
        if len(words) >= 8:
            for token in self._prefix(words):
                self.prefixes.setdefault(token, []).append(k)

    def _prefix(self, words: list[str]) -> list[tuple[str, int]]:
        """The paragraph's first words in the shared order: a near-repeat shares _SHARED_PREFIX_WORDS of them."""
        counts: dict[str, int] = {}
        tokens = []
        for w in words:
            counts[w] = counts.get(w, 0) + 1
            tokens.append((w, counts[w]))  # the k-th "the" is its own token: shared words count as a multiset
        tokens.sort(key=lambda t: (self.lines_with.get(t[0], 0), t[0], t[1]))
        return tokens[: len(tokens) - _overlap(len(tokens)) + _SHARED_PREFIX_WORDS]


def _line_counts(text: str, candidates: list[Span]) -> dict[str, int]:
    """How many lines hold each word. Example: "a b\\nb" -> {"a": 1, "b": 2}."""
    counts: dict[str, int] = {}
    for span in candidates:
        for w in set(_words(text[span.start : span.end])):
            counts[w] = counts.get(w, 0) + 1
    return counts


def _overlap(n: int) -> int:
    """Fewest words a paragraph of n words shares with any near-verbatim repeat of it.

    shared >= r * (n + m) / 2 and m >= shared give shared >= r * n / (2 - r). Example: _overlap(20) == 15.
    """
    return math.ceil(_NEAR_DUPLICATE * n / (2 - _NEAR_DUPLICATE) - 1e-9)


def _words(line: str) -> list[str]:
    """Lower-case words with quote marks and punctuation ignored. Example: '“Hi,” he said' -> hi he said."""
    return re.findall(r"\w+", line.lower())
