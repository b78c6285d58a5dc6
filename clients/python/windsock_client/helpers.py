"""Hand-written helpers over the generated SDK (this file is kept by .openapi-generator-ignore).

- `pages` and `items`: every page, or every item, of any list operation, following the
  answer's `next_cursor` where it has one and `offset` otherwise.
- `wait_for_dag_run`: wait for a run to finish with `GET .../dagRuns/{dag_run_id}/wait`, however
  long it takes (asking again each time the server's longest wait has passed).
- `trigger_and_wait`: trigger a run, then wait for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from windsock_client.api.dag_run_api import DAGRunApi
from windsock_client.api_client import ApiClient
from windsock_client.exceptions import ApiException
from windsock_client.models.dag_run import DAGRun
from windsock_client.models.dag_run_create import DAGRunCreate
from windsock_client.models.dag_run_wait_line import DAGRunWaitLine
from windsock_client.rest import RESTResponse

# The longest `timeout` one wait request may ask for (the contract's maximum).
MAX_WAIT_SECONDS = 3600
# How much longer than the wait itself the client gives the server to answer its last line.
ANSWER_GRACE_SECONDS = 30


class RunDeleted(LookupError):
    """The run was deleted while it was waited for."""


def _rows(page: Any) -> list:
    """The items of a collection: its one list field (`dags`, `dag_runs`, ...)."""
    lists = [value for _, value in page if isinstance(value, list)]
    if len(lists) != 1:
        raise TypeError(f"{type(page).__name__} is not a collection of one list")
    return lists[0]


def pages(operation: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Iterator[Any]:
    """Every page of a list operation, from the one `kwargs` ask for (`offset`, or `cursor`)
    on: `pages(dag_run_api.get_dag_runs, "~", limit=100)`. A page with a `next_cursor` is
    followed by the page of that cursor; otherwise the next offset is asked for until
    `total_entries` items have been seen."""
    request = dict(kwargs)
    while True:
        page = operation(*args, **request)
        yield page
        if next_cursor := getattr(page, "next_cursor", None):
            request = {**kwargs, "cursor": next_cursor}
            request.pop("offset", None)
            continue
        offset = (request.get("offset") or 0) + len(_rows(page))
        total = getattr(page, "total_entries", None)
        if "cursor" in request or not _rows(page) or total is None or offset >= total:
            return
        request = {**kwargs, "offset": offset}


def items(operation: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Iterator[Any]:
    """Every item of every page of a list operation (see `pages`)."""
    for page in pages(operation, *args, **kwargs):
        yield from _rows(page)


def _wait_once(runs: DAGRunApi, dag_id: str, dag_run_id: str, seconds: float,
               result: list[str] | None,
               on_state: Callable[[DAGRunWaitLine], None] | None) -> DAGRunWaitLine:
    """One wait request; its last line."""
    response = runs.wait_dag_run_until_finished_without_preload_content(
        dag_id, dag_run_id, timeout=seconds, result=result,
        _request_timeout=seconds + ANSWER_GRACE_SECONDS)
    try:
        if response.status != 200:
            answer = RESTResponse(response)
            answer.read()
            raise ApiException.from_response(http_resp=answer, body=answer.data.decode(),
                                             data=None)
        last = None
        for raw in response:
            if raw.strip():
                last = DAGRunWaitLine.from_json(raw)
                if on_state is not None:
                    on_state(last)
    finally:
        response.release_conn()
    if last is None or not (last.timed_out or last.deleted or last.state in ("success", "failed")):
        raise ApiException(status=response.status, reason="The wait ended without its last line")
    return last


def wait_for_dag_run(api_client: ApiClient, dag_id: str, dag_run_id: str, *,
                     timeout: float | None = None, result: list[str] | None = None,
                     on_state: Callable[[DAGRunWaitLine], None] | None = None
                     ) -> DAGRunWaitLine:
    """Wait until the run has finished and return the last line of the wait: its `state` and,
    for the tasks named in `result`, their return values in `results`. `on_state` sees every
    line as it comes. Without `timeout` it waits as long as the run takes; when `timeout`
    seconds pass first, TimeoutError. RunDeleted when the run is deleted meanwhile; the SDK's
    exceptions (NotFoundException, ...) for what the server refuses."""
    runs = DAGRunApi(api_client)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = MAX_WAIT_SECONDS if deadline is None else max(0.0, deadline - time.monotonic())
        last = _wait_once(runs, dag_id, dag_run_id, min(left, MAX_WAIT_SECONDS), result,
                          on_state)
        if last.deleted:
            raise RunDeleted(f"Run {dag_run_id!r} of DAG {dag_id!r} was deleted while "
                             f"waited for (last {last.state.value}).")
        if not last.timed_out:
            return last
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"Run {dag_run_id!r} of DAG {dag_id!r} is still "
                               f"{last.state.value} after {timeout} s.")


def trigger_and_wait(api_client: ApiClient, dag_id: str, dag_run: DAGRunCreate | None = None,
                     **wait: Any) -> tuple[DAGRun, DAGRunWaitLine]:
    """Trigger a run of the DAG (as `dag_run` describes it, or with the defaults), then wait
    for it as `wait_for_dag_run` does with the keywords `wait`: the run as triggered, and the
    wait's last line."""
    run = DAGRunApi(api_client).post_dag_run(dag_id, dag_run or DAGRunCreate())
    return run, wait_for_dag_run(api_client, dag_id, run.dag_run_id, **wait)
