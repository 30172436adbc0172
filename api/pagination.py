"""Pagination for every list that grows: ``offset`` and ``limit`` in, a :class:`Page` out.

Lists are ordered stably (by sequence number, label or id), so walking ``next_offset`` until
it is ``null`` visits every element once even while the ledger grows at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int = Field(description="number of elements in the whole list")
    offset: int = Field(description="index of the first element of this page")
    limit: int = Field(description="the page size asked for")
    next_offset: int | None = Field(description="offset of the next page; null on the last")


class PageParams(BaseModel):
    """The validated ``offset`` and ``limit`` of a request."""

    offset: int
    limit: int

    def page(self, items: Sequence[T], total: int) -> Page[T]:
        """Wrap one already-sliced page of ``items`` out of ``total``."""
        end = self.offset + len(items)
        return Page[T](
            items=list(items),
            total=total,
            offset=self.offset,
            limit=self.limit,
            next_offset=end if end < total else None,
        )

    def slice(self, everything: Sequence[T]) -> Page[T]:
        """Cut this page out of a complete list."""
        return self.page(everything[self.offset : self.offset + self.limit], len(everything))


def page_params(
    offset: Annotated[int, Query(ge=0, le=2**53, description="elements to skip")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"page size (at most {MAX_LIMIT})")
    ] = DEFAULT_LIMIT,
) -> PageParams:
    """FastAPI dependency: the page asked for, bounds checked (422 when out of range)."""
    return PageParams(offset=offset, limit=limit)
