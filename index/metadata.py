"""Metadata: title, outlet and authors, as the page names them."""

from __future__ import annotations

import re

from index.clean import Span

# Agency codes as they appear in datelines: "ANKARA (AA) - ..."
AGENCIES = {
    "AA": "Anadolu Agency",
    "AFP": "Agence France-Presse",
    "AP": "Associated Press",
    "DPA": "Deutsche Presse-Agentur",
    "UPI": "United Press International",
}
_DATELINE_AGENCY = re.compile(r"\b[A-Z]{3,}(?:,? [A-Z][a-z]+)? \((" + "|".join(AGENCIES) + r")\) [-–—]")
_AGENCY_LINE = re.compile(r"^([A-Z][\w&.'-]*(?: [A-Z][\w&.'-]*){0,3} (?:Agency|News|Press|Post|Times|Daily|Sabah))$")
_SOURCE_URL = re.compile(r"https?://(?:www\.)?([a-z0-9-]+)\.[a-z.]+/", re.I)
_WRITTEN_BY = re.compile(r"^Written by (.+?) on\b", re.M)


def title(text: str, paragraphs: list[Span]) -> str:
    """The first kept line, which for a scraped page is its headline."""
    if not paragraphs:
        return ""
    first = text[paragraphs[0].start : paragraphs[0].end]
    return first if len(first) <= 200 else first[:197].rstrip() + "..."


def outlet(text: str) -> str | None:
    """The outlet or agency the page names: a closing agency line, a dateline code, a source URL.

    Example: "ANKARA (AA) - Russian President ..." -> "Anadolu Agency"
    """
    for line in reversed(text.strip().splitlines()[-8:]):
        m = _AGENCY_LINE.match(line.strip())
        if m:
            return m.group(1)
    m = _DATELINE_AGENCY.search(text)
    if m:
        return AGENCIES[m.group(1)]
    m = re.search(r"(?:retrieved|taken|source) from:? " + _SOURCE_URL.pattern, text, re.I)
    if m:
        return m.group(1).replace("-", " ").title()
    return None


def authors(text: str) -> list[str]:
    """Bylines. Example: "Written by A & B on ." -> ["A", "B"]."""
    m = _WRITTEN_BY.search(text)
    return [a.strip() for a in re.split(r"&| and ", m.group(1))] if m else []
