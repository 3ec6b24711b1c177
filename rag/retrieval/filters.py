"""Which statements a search may return: the user's filters and the question's scope."""

from __future__ import annotations

from dataclasses import dataclass

from rag.errors import InputError
from rag.types import Document

MAX_K = 50


@dataclass(frozen=True)
class Filters:
    """Which documents a search may return; empty fields do not restrict."""

    sources: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    speakers: tuple[str, ...] = ()  # a person named in the document's speaker field
    venues: tuple[str, ...] = ()  # words of the document's venue ("general debate")

    def __post_init__(self) -> None:
        if self.year_from is not None and self.year_to is not None and self.year_from > self.year_to:
            raise InputError(
                f"The year range {self.year_from}-{self.year_to} is empty; put the earlier year first."
            )

    @property
    def empty(self) -> bool:
        return not (
            self.sources or self.countries or self.year_from or self.year_to or self.speakers or self.venues
        )

    def describe(self) -> str:
        parts = []
        if self.sources:
            parts.append("source " + " or ".join(self.sources))
        if self.countries:
            parts.append("country " + " or ".join(self.countries))
        if self.year_from or self.year_to:
            parts.append(f"years {self.year_from or '…'}-{self.year_to or '…'}")
        if self.speakers:
            parts.append("speaker " + " or ".join(self.speakers))
        if self.venues:
            parts.append("venue " + " or ".join(self.venues))
        return ", ".join(parts)

    def venue_matches(self, doc: Document) -> bool:
        """Whether the document was delivered at one of the venues ("security council" is
        words of its venue field); true when no venue is asked."""
        venue = str(doc.metadata.get("venue") or "").lower()
        return not self.venues or any(v.lower() in venue for v in self.venues)

    def matches(self, doc: Document) -> bool:
        meta = doc.metadata
        if self.sources and not any(
            s in (doc.doc_id, doc.source, doc.source.rsplit("/", 1)[-1])
            or doc.source.startswith(s.rstrip("/") + "/")
            for s in self.sources
        ):
            return False
        if self.countries:
            names = {str(meta.get("country", "")).lower(), str(meta.get("speaker", "")).lower()}
            if not any(c.lower() in names for c in self.countries):
                return False
        if self.speakers and not any(
            p.lower() in str(meta.get("speaker", "")).lower() for p in self.speakers
        ):
            return False
        if not self.venue_matches(doc):
            return False
        if self.year_from or self.year_to:
            year = year_of(doc)
            if year is None:
                return False
            if self.year_from and year < self.year_from or self.year_to and year > self.year_to:
                return False
        return True


def year_of(doc: Document) -> int | None:
    """A document's year, or None when it has none as a number (an index written before
    metadata was checked at ingestion may hold "2020" as text: read as no year, as the
    coverage, the year table and the Qdrant payload read it)."""
    year = doc.metadata.get("year")
    return year if isinstance(year, int) and not isinstance(year, bool) else None


def check_k(k: int) -> int:
    if not 1 <= k <= MAX_K:
        raise InputError(f"The number of passages must be between 1 and {MAX_K}, not {k}.")
    return k
