"""Answers as HTML for the web UI: every piece of article or answer text escaped, markers as links.

    answer_html(answer, turn=2)      # "... [1]" -> '... <a class="cite" href="#t2-src-1">[1]</a>'
    sources_html(answers, folder)    # per answer, newest first: each cited article, the quote <mark>ed
                                     # inside its paragraph, anchored as t<turn>-src-<n>
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from qa.schema import Answer, Citation, Passage

CONTEXT_CHARS = 400  # of the paragraph shown on each side of a quote
_MARKER = re.compile(r"\[(\d+)\]")
SHOWN_TURNS = 10  # answers whose sources stay in the panel
# What the chat's Markdown (CommonMark, GFM autolinks, tables, strikethrough) could read as syntax,
# written as a character reference: shown as the character, never read as a link, image, heading or HTML.
_ACTIVE = re.compile(r"""[\\`*_{}\[\]()#+\-!|~<>&$=@:"]|(?<=www)\.|(?<=\d)\.""", re.IGNORECASE)
EMPTY_SOURCES = '<div class="sources-empty">Sources of the answer appear here.</div>'


def escape(text: str) -> str:
    """Text shown as written: neither HTML nor Markdown. Example: "[a](b)" -> "&#91;a&#93;&#40;b&#41;"."""
    return _ACTIVE.sub(lambda m: f"&#{ord(m.group())};", text)


def partial_html(text: str, turn: int) -> str:
    """Answer text of the conversation's `turn`-th answer while it streams in."""
    return _linked(text, turn)


def answer_html(answer: Answer, turn: int) -> str:
    """The final answer: `[n]` markers link to the sources panel; an abstention looks like one."""
    if answer.abstained:
        return f'<span class="abstained">ⓘ {escape(answer.text)}</span>'
    lines = [_linked(answer.text, turn)]
    if answer.unsupported:  # LLM mode: sentences the cited articles do not back
        claims = "; ".join(f"“{escape(u)}”" for u in answer.unsupported)
        lines.append(f'<span class="unsupported">⚠ Not supported by the cited articles: {claims}</span>')
    if answer.notice:
        lines.append(f'<span class="notice">{escape(answer.notice)}</span>')
    if answer.timing:  # a streamed LLM reply: how long the wait for the first word was
        t = answer.timing
        lines.append(f'<span class="notice">first token after {t["first_token_s"]:.1f} s · '
                     f'{t["tokens_per_s"]:.0f} tokens/s</span>')
    return "\n\n".join(lines)


def error_html(message: str) -> str:
    """One readable line, never a traceback."""
    first = message.strip().splitlines()[0] if message.strip() else "Something went wrong."
    return f'<span class="error">⚠ {escape(first)}</span>'


def sources_html(answers: list[Answer], articles: Path) -> str:
    """The sources panel: the citations of each answer of the conversation, newest answer first."""
    groups = []
    for turn, answer in reversed(list(enumerate(answers, start=1))[-SHOWN_TURNS:]):
        if answer.citations:
            blocks = "".join(_source(c, turn, articles) for c in answer.citations)
            asked = f'<div class="asked">{html.escape(answer.question)}</div>'
            groups.append(f'<div class="turn" id="t{turn}">{asked}{blocks}</div>')
    return f'<div class="sources">{"".join(groups)}</div>' if groups else EMPTY_SOURCES


def _source(c: Citation, turn: int, articles: Path) -> str:
    head = " · ".join(html.escape(x) for x in (c.outlet, c.date) if x)
    also = "".join(
        f'<li><span class="file">{html.escape(p.source)}</span> {html.escape(_label(p))}</li>' for p in c.also
    )
    return (
        f'<div class="source" id="t{turn}-src-{c.id}">'
        f'<div class="source-head"><span class="num">[{c.id}]</span> '
        f'<span class="title">{html.escape(c.title or c.source)}</span></div>'
        f'<div class="meta">{head} <span class="file">{html.escape(c.source)}</span></div>'
        f'<p class="context">{_in_context(c, articles)}</p>'
        + (f'<div class="also">Also in:<ul>{also}</ul></div>' if also else "")
        + "</div>"
    )


def _in_context(c: Passage, articles: Path) -> str:
    text = _read(articles, c.source)
    if text[c.start : c.end] != c.quote:  # the file changed since it was indexed: its offsets mean nothing now
        return f'<mark class="quote">{html.escape(c.quote)}</mark> <span class="notice">(the file has changed ' \
               "since it was indexed; run `qa index`)</span>"
    before, after = paragraph_around(text, c.start, c.end)
    return f'{html.escape(before)}<mark class="quote">{html.escape(c.quote)}</mark>{html.escape(after)}'


def paragraph_around(text: str, start: int, end: int, limit: int = CONTEXT_CHARS) -> tuple[str, str]:
    """The text of the quote's paragraph before and after it, each cut to `limit` characters.

    Example: paragraph_around("a\\nb QUOTE c\\nd", 4, 9) == ("b ", " c")
    """
    if not text:
        return "", ""
    begin = text.rfind("\n", 0, start) + 1
    stop = text.find("\n", end)
    stop = len(text) if stop < 0 else stop
    before, after = text[begin:start], text[end:stop]
    if len(before) > limit:
        before = "…" + before[-limit:]
    if len(after) > limit:
        after = after[:limit] + "…"
    return before, after


def _read(articles: Path, source: str) -> str:
    """An article's text as indexed, or "" when it is gone or lies outside the articles folder."""
    from index.load import read_article

    path = (articles / source).resolve()
    if not path.is_relative_to(articles.resolve()):
        return ""
    try:
        return read_article(path, articles).text
    except Exception:  # noqa: BLE001 - deleted or unreadable since indexing: show the quote alone
        return ""


def _label(p: Passage) -> str:
    return f"({p.title}, {p.date})" if p.date else f"({p.title})"


def _linked(text: str, turn: int) -> str:
    """The text escaped, its `[n]` markers the only links. Example: "a [1]" -> 'a <a class="cite" ...>[1]</a>'."""
    parts = _MARKER.split(text)  # text, marker number, text, ...
    return "".join(escape(part) if i % 2 == 0 else f'<a class="cite" href="#t{turn}-src-{part}">[{part}]</a>'
                   for i, part in enumerate(parts))
