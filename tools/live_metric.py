"""Reading the live metric, with Cekura's failures turned into messages the caller can act on."""

from __future__ import annotations

from tools.cekura.errors import CekuraError, CekuraNotFound
from tools.cekura.models import Metric
from tools.context import Workflow
from tools.errors import WorkflowError
from tools.explain import explain


async def read_metric(wf: Workflow, metric_id: int, *, before_write: bool = False) -> Metric:
    """GET the metric; a clear WorkflowError (saying nothing was written, before a write) if not."""
    suffix = " Nothing was written." if before_write else ""
    try:
        return await wf.client.get_metric(metric_id)
    except CekuraNotFound as exc:
        raise WorkflowError(f"Cekura has no metric {metric_id}. Check the id.{suffix}") from exc
    except CekuraError as exc:
        raise WorkflowError(explain(exc, f"reading metric {metric_id}") + suffix) from exc
