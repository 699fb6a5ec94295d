"""A paginator for lists that can grow without bound (a unit's renewal queue, a register's documents).

Django's Paginator counts every matching row to draw "page N of M", and a COUNT over tens of thousands of
rows costs more than the page itself. CappedPaginator counts at most `cap` rows (a LIMIT inside the
count, so the database stops there); a longer list pages through its first `cap` rows and says that more
were not counted. Nobody reads page 400 of a queue handled oldest first; a filter narrows a long list.
"""

from __future__ import annotations

from functools import cached_property

from django.core.paginator import Paginator


class CappedPaginator(Paginator):
    cap = 500

    def __init__(self, object_list, per_page, *args, cap: int | None = None, **kwargs) -> None:
        super().__init__(object_list, per_page, *args, **kwargs)
        if cap is not None:
            self.cap = cap

    @cached_property
    def _counted(self) -> int:
        """The matching rows, counted up to one past the cap."""
        return self.object_list.order_by()[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        """More rows match than were counted: the pages end at `cap` rows."""
        return self._counted > self.cap
