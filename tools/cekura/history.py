"""A metric's saved versions (contract §4.5): list them, find the newest, restore one."""

from __future__ import annotations

from .endpoints import METRIC_HISTORY, METRIC_RESTORE
from .errors import CekuraMalformedResponse
from .inputs import positive_int
from .models import HistoryPage, Metric
from .transport import Transport

MAX_PAGE_SIZE = 200
_LOOKUP_PAGE_SIZE = 20


class HistoryCalls:
    """The metric history endpoints, mixed into `CekuraClient`."""

    _transport: Transport

    async def metric_history(
        self, metric_id: int, *, page: int = 1, page_size: int = 20
    ) -> HistoryPage:
        """GET one page of the metric's saved versions."""
        path_args = {"metric_id": positive_int("metric_id", metric_id)}
        positive_int("page", page)
        if positive_int("page_size", page_size) > MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be at most {MAX_PAGE_SIZE}")
        params = {"page": page, "page_size": page_size}
        reply = await self._transport.send(
            "GET", METRIC_HISTORY, path_args=path_args, params=params
        )
        return reply.model(HistoryPage)

    async def latest_history_id(self, metric_id: int) -> int | None:
        """The newest history row's id (the rollback point), or None when there is no history.

        History is documented newest first; if a page comes back oldest first, the newest row is
        looked up on the last page instead of trusting the first row.
        """
        size = _LOOKUP_PAGE_SIZE
        first = await self.metric_history(metric_id, page=1, page_size=size)
        ids = [entry.history_id for entry in first.results]
        if not ids:
            return None
        if ids == sorted(ids, reverse=True) or first.next is None:
            return max(ids)
        if first.count <= len(ids):
            raise CekuraMalformedResponse(
                f"Cekura's history for metric {metric_id} is oldest first and its count is "
                "unusable, so the newest version cannot be found",
                method="GET",
                path=METRIC_HISTORY.format(metric_id=metric_id),
            )
        last = await self.metric_history(metric_id, page=-(-first.count // size), page_size=size)
        return max([*ids, *(entry.history_id for entry in last.results)])

    async def restore_metric(self, metric_id: int, history_id: int) -> Metric:
        """POST restore: put a saved version back live."""
        path_args = {"metric_id": positive_int("metric_id", metric_id)}
        body = {"history_id": positive_int("history_id", history_id)}
        reply = await self._transport.send("POST", METRIC_RESTORE, path_args=path_args, body=body)
        return reply.model(Metric)
