"""`Filters`: what a search or listing is restricted to (a date range, a source, a page).

Backend-neutral: each index backend translates it into its own query language (the local
backend into SQL, `qa.store.filters_sql`). Validation happens here, once, so every backend
refuses the same bad input with the same message.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dates import iso_date

__all__ = ["Filters", "page_key"]


@dataclass(frozen=True)
class Filters:
    """Restrict a search to a date range (inclusive, ISO dates), a source and/or a page.
    A page filter matches with leading zeros ignored ("3" finds page "03", see `page_key`)."""

    date_from: str | None = None
    date_to: str | None = None
    source: str | None = None
    page: str | None = None

    def __post_init__(self) -> None:
        # `garbage` or 2022-02-31 would silently match nothing; 2022/3/1 would compare wrong
        for name in ("date_from", "date_to"):
            try:
                object.__setattr__(self, name, iso_date(getattr(self, name)))
            except ValueError as e:
                raise ValueError(f"{name.replace('_', ' ')} filter: {e}") from None

    def is_empty(self) -> bool:
        return not (self.date_from or self.date_to or self.source or self.page)


def page_key(page: str) -> str:
    """A page label with leading zeros dropped ("03" -> "3", "00" -> "0"): what two page
    labels must share to name the same page."""
    return page.lstrip("0") or "0"
