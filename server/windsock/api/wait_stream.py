"""The answer of `GET /dags/{dag_id}/dagRuns/{dag_run_id}/wait`, which goes on after its operation
has returned.

The operation (`windsock.impl.dag_run.wait_dag_run_until_finished`) runs as every other one does,
on the thread pool that serves Flask: it checks all that can be refused and answers the first
line, the run's state. When the run has not finished, it leaves a `Ticket` in the request's ASGI
scope (`begin`), and this middleware, on the event loop, keeps the answer open once the
operation's thread is free: it writes a line for each change of the run's state that the
process's watch (`windsock.runs.waits`) sees, until the run finishes, the timeout passes or the
client hangs up. Meanwhile the request holds no thread and no database connection; the results
of the last line are read on the watch's reader threads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from connexion import context
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from windsock.db.engine import session
from windsock.runs import returns, waits
from windsock.runs.states import FINISHED_RUN_STATES

log = logging.getLogger(__name__)
NDJSON = "application/x-ndjson"
OPERATION = "wait_dag_run_until_finished"
TICKET = "windsock.wait"


@dataclass(frozen=True)
class Ticket:
    """A wait the operation hands over: the run, its state when read, when to give up (a
    `time.monotonic()` instant) and the tasks (serialized, by id) whose results end it."""

    dag_id: str
    run_id: str
    run_pk: int
    state: str
    deadline: float
    tasks: dict[str, dict[str, Any]]


def line(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":")) + "\n"


def ending(sess: Session, ticket: Ticket, state: str) -> dict[str, Any]:
    """The last line of a wait whose run finished in `state`."""
    if not ticket.tasks:
        return {"state": state}
    return {"state": state,
            "results": returns.requested(sess, ticket.dag_id, ticket.run_id, ticket.tasks)}


def _ending(ticket: Ticket, state: str) -> dict[str, Any]:
    with session() as sess:
        return ending(sess, ticket, state)


def begin(sess: Session, ticket: Ticket):
    """The operation's answer: the whole of it when the run has finished or the timeout is
    over already, otherwise its first line, which the middleware continues."""
    if ticket.state in FINISHED_RUN_STATES:
        body = ending(sess, ticket, ticket.state)
    elif ticket.deadline <= time.monotonic():
        body = {"state": ticket.state, "timed_out": True}
    else:
        body = {"state": ticket.state}
        context.scope.setdefault("extensions", {})[TICKET] = ticket
    return line(body), 200, {"Content-Type": NDJSON}


async def _hang_up(receive: Receive) -> None:
    """Returns when the client has closed the connection."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _write(send: Send, body: dict[str, Any], *, last: bool) -> None:
    await send({"type": "http.response.body", "body": line(body).encode(), "more_body": not last})


async def follow(ticket: Ticket, receive: Receive, send: Send) -> None:
    """Write the run's changes of state until the wait ends; the answer has begun already."""
    loop = asyncio.get_running_loop()
    watch = waits.watch()
    wait = watch.start(ticket.run_pk, ticket.state)
    hang_up = loop.create_task(_hang_up(receive))
    state = ticket.state
    try:
        while True:
            change = loop.create_task(wait.changes.get())
            done, _ = await asyncio.wait({change, hang_up}, return_when=asyncio.FIRST_COMPLETED,
                                         timeout=max(0.0, ticket.deadline - time.monotonic()))
            if change not in done:
                change.cancel()
                if hang_up not in done:
                    await _write(send, {"state": state, "timed_out": True}, last=True)
                return
            if (seen := change.result()) is None:
                await _write(send, {"state": state, "deleted": True}, last=True)
                return
            state = seen
            if state in FINISHED_RUN_STATES:
                body = await loop.run_in_executor(waits.READERS, _ending, ticket, state)
                await _write(send, body, last=True)
                return
            await _write(send, {"state": state}, last=False)
    except Exception:  # the answer has begun: all that is left is to end it
        log.exception("the wait for run %r of DAG %r failed", ticket.run_id, ticket.dag_id)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        watch.stop(wait)
        hang_up.cancel()


class WaitStreams:
    """ASGI middleware continuing the answers of waits that the operation handed over."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        if (scope["type"] != "http" or scope["method"] != "GET"
                or str(routing.get("operation_id")).rpartition(".")[2] != OPERATION):
            await self.app(scope, receive, send)
            return
        handed: list[Ticket] = []

        async def relay(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                if ticket := scope["extensions"].pop(TICKET, None):
                    handed.append(ticket)
                    message = {**message, "headers": [
                        (name, value) for name, value in message["headers"]
                        if name.lower() != b"content-length"]}
            elif message["type"] == "http.response.body" and handed:
                message = {**message, "more_body": True}
            await send(message)

        await self.app(scope, receive, relay)
        if handed:
            await follow(handed[0], receive, send)
