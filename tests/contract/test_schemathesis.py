"""Contract tests: schemathesis against the in-process ASGI app, over spec/dist/openapi.yaml.

Every operation of the bundled contract is exercised, authenticated as admin, with positive and
negative data, in the examples, coverage and fuzzing phases, and with every check schemathesis
has, against a server with the default settings that bear on validation. The create
operations' OpenAPI links (POST /variables, /connections, /pools, /users, /roles ->
get/patch/delete; POST /auth/tokens -> revoke) drive a stateful run with the same checks. No
operation is excluded.

`positive_data_acceptance` (valid data must not be refused) runs through `ALLOWED` below: the
rules the server enforces that the contract can state only in words. Each entry names its rule,
and a refusal passes only with that status and a detail naming that rule.

Runs are reproducible: a fixed seed, derandomized Hypothesis and no example database.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import ADMIN
from tests.contract.conftest import reset_database

SPEC = Path(__file__).resolve().parents[2] / "spec" / "dist" / "openapi.yaml"
CONNECTION_TEST_PATH = "/api/v1/connections/test"
WAIT_PATH = re.compile(r"^/api/v1/dags/[^/]+/dagRuns/[^/]+/wait$")
SHORTEST_WAIT = 0.05  # seconds: the longest a wait of the contract tests may wait
LOOPBACK = "127.0.0.1"
MAX_EXAMPLES = 50
STATEFUL_EXAMPLES = 60
PATCHES = ("patch_variable", "patch_connection", "patch_pool", "patch_dag", "patch_dags",
           "patch_user", "patch_role")


@dataclass(frozen=True)
class Allowed:
    """A refusal of contract-valid data: `status` with a detail matching `detail` answered by
    one of `operations` (None: any operation) because of `rule`, which the contract states in
    words (the operation's description, or its conventions) because a schema cannot."""

    rule: str
    status: int
    detail: str
    operations: tuple[str, ...] | None = None

    def covers(self, case, response) -> bool:
        if response.status_code != self.status or (
                self.operations is not None and case.operation.definition.raw.get(
                    "operationId") not in self.operations):
            return False
        try:
            detail = response.json().get("detail") or ""
        except ValueError:
            return False
        return re.search(self.detail, detail) is not None


ALLOWED = (
    # What any JSON body may hold, which the contract's conventions state once: free-form
    # objects (a run's `conf`) take any JSON, but the API stores 64-bit integers and finite
    # doubles and nests at most [api] max_json_depth deep.
    Allowed("a body's numbers must fit 64-bit integers or doubles, its nesting max_json_depth",
            400, r"^The body (holds|nests) "),
    # State the request cannot know from the contract alone.
    Allowed("If-Match must be the resource's current ETag (the 412 carries it)", 412,
            r"has changed since the ETag in If-Match"),
    Allowed("a task log's token must be one the server issued for that try", 400,
            r"^'token' ", ("get_log",)),
    Allowed("the tasks a wait's `result` names must be the DAG's", 422, r"^'result' names ",
            ("wait_dag_run_until_finished",)),
    Allowed("a cursor must be one the server issued for the same query, without an offset",
            400, r"^'cursor' ", ("get_dag_runs", "get_dag_runs_batch", "get_task_instances",
                                 "get_mapped_task_instances", "get_task_instances_batch")),
    Allowed("an Idempotency-Key already used must come with the same request", 422,
            r"^The Idempotency-Key "),
    # Names that must exist in the database.
    Allowed("a user's roles must exist", 422, r"^No role is called ", ("post_user", "patch_user")),
    Allowed("the forms' task ids and runs must be the DAG's", 422, r" has no (task|run) ",
            ("post_clear_task_instances", "post_set_task_instances_state")),
    Allowed("a run's conf must satisfy the DAG's params", 422, r"^(conf|param) ",
            ("post_dag_run", "experimental_trigger_dag")),
    Allowed("a backfill's DAG needs a time-based schedule and its range 1 to 10000 past logical "
            "dates of it", 422,
            r"^(from_date \(.*\) is (after to_date|in the future)|The range holds|DAG .* has "
            r"no time-based schedule)", ("create_backfill", "create_backfill_dry_run")),
    Allowed("a backfill's dag_run_conf must satisfy the DAG's params", 422, r"^dag_run_conf: ",
            ("create_backfill", "create_backfill_dry_run")),
    Allowed("a DAG has at most one backfill that is not completed", 409,
            r" already has a backfill ", ("create_backfill",)),
    Allowed("a completed backfill is not paused, unpaused or cancelled", 409,
            r"^Backfill \d+ is already completed", ("pause_backfill", "unpause_backfill",
                                                      "cancel_backfill")),
    # Rules between values that OpenAPI 3.0 cannot compare.
    Allowed("a variable's key or a connection's id in a PATCH body must equal the path's", 400,
            r"in the body .* does not match the path", ("patch_variable", "patch_connection")),
    Allowed("every field update_mask names must be in the body", 400,
            r"^update_mask names .* but the body does not contain them", PATCHES),
    Allowed("logical_date and execution_date must be the same instant when both are sent", 422,
            r"^'logical_date' .* disagree", ("post_dag_run",)),
    Allowed("start_date must not be later than end_date", 422,
            r"^'start_date' .* is later than 'end_date'", ("post_clear_task_instances",)),
    # The experimental API reads dates, flags and slot counts from text, as Airflow 2's did;
    # its descriptions say which text it takes.
    Allowed("the experimental API's dates, flags and slots must parse", 400,
            r"^'(execution_date|replace_microseconds|slots)' (is not|has no|is outside|must)",
            ("experimental_trigger_dag", "experimental_get_dag_run_state",
             "experimental_get_task_instance", "experimental_get_lineage",
             "experimental_create_pool")),
    # OpenAPI 3.0 has no tuples: an array's items share one schema.
    Allowed("a clear form's [task_id, map_index] pair holds a task id, then a map index", 400,
            r"^'task_ids\[\d+\]' is not a \[task_id, map_index\] pair",
            ("post_clear_task_instances",)),
)


@schemathesis.check
def positive_data_acceptance_but_allowed(ctx, response, case):
    """schemathesis' positive_data_acceptance, except for the refusals in ALLOWED."""
    if any(allowed.covers(case, response) for allowed in ALLOWED):
        return None
    return positive_data_acceptance(ctx, response, case)


CONFIG = SchemathesisConfig.from_dict({
    "seed": 20260101,
    "generation": {
        "mode": "all",  # positive and negative
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,
        "database": "none",
        # Text cannot hold U+0000: the server answers 400 naming the field ("contains a NUL
        # character, which cannot be stored"; tests/api covers it), as the contract's
        # conventions and its 400 response say. Its string schemas do not exclude it (a
        # `pattern` on every text field would replace that message with a generic one), so
        # valid data is generated without it. (Lone surrogates, the other unstorable text, are
        # never generated: Hypothesis' text leaves them out.)
        "allow-x00": False,
    },
    "auth": {"basic": {"username": ADMIN[0], "password": ADMIN[1]}},
    "checks": {
        "enabled": True,  # all checks, with positive_data_acceptance as ALLOWED narrows it
        "positive_data_acceptance": {"enabled": False},
        # Invalid data may also be refused for its size before it is read: a body above
        # [api] max_request_body_size (413) or a request target above [api] max_url_length (414),
        # both declared by the contract.
        "negative_data_rejection": {
            "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413", "414"]},
    },
    # Constants harvested from the Python source under test are dropped into string fields that
    # the schema allows; they ignore the custom `json-object` format of a connection's `extra`.
    "analysis": {"constants": {"enabled": False}},
})


class LoopbackListener:
    """A TCP port on 127.0.0.1 that accepts connections and closes them at once.

    POST /connections/test gets this port, so its TCP test succeeds and its database test fails
    fast (the peer hangs up) instead of waiting for a timeout.
    """

    def __init__(self) -> None:
        self.sock = socket.create_server((LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def close(self) -> None:
        self.sock.close()


class DeferredApp:
    """The ASGI app under test: forwards to the FlaskApp of the `app` fixture.

    The schema is loaded at import time, because `schemathesis.pytest.from_fixture` does not work
    with pytest 9 (it writes `Function._nodeid`); the app needs the migrated database, so it is
    bound later. The checks that send requests of their own (ignored_auth, use_after_free, ...)
    take the app from the schema, so it is bound there rather than passed to each call.

    A wait for a run (GET .../wait) waits at most SHORTEST_WAIT: a valid `timeout` (a number
    from 0 to 3600) above it becomes SHORTEST_WAIT, so that each of the many generated waits
    for the running example run ends at once; an invalid one is sent as generated.

    It also keeps POST /connections/test on this machine: whatever schemathesis generates, a
    `host` that the contract accepts (a string of at most 500 characters) becomes 127.0.0.1 and a
    valid `port` becomes the loopback listener's, so the server never contacts another host. The
    rewrite keeps every field valid or invalid as generated, so the checks judge the same request.
    """

    target = None
    port: int = 0

    async def __call__(self, scope, receive, send):
        if (scope["type"] == "http" and scope["method"] == "POST"
                and scope["path"] == CONNECTION_TEST_PATH):
            scope, receive = await self._keep_on_loopback(scope, receive)
        if scope["type"] == "http" and WAIT_PATH.match(scope["path"]):
            scope = {**scope, "query_string": shortened_wait(scope["query_string"])}
        await self.target(scope, receive, send)

    async def _keep_on_loopback(self, scope, receive):
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if isinstance(document, dict):
            host, port = document.get("host"), document.get("port")
            if isinstance(host, str) and len(host) <= 500:
                document["host"] = LOOPBACK
            if type(port) is int and 1 <= port <= 65535:
                document["port"] = self.port
            body = json.dumps(document).encode()
        headers = [(k, v) for k, v in scope["headers"]
                   if k not in (b"content-length", b"transfer-encoding")]
        headers.append((b"content-length", str(len(body)).encode()))
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return {**scope, "headers": headers}, replay


def shortened_wait(query: bytes) -> bytes:
    """The query string of a wait, its `timeout` shortened to SHORTEST_WAIT when it is a valid
    one above that; every other byte as generated."""
    def short(match: re.Match) -> bytes:
        try:
            seconds = float(unquote(match[2].decode("latin-1")))
        except ValueError:
            return match[0]
        if not SHORTEST_WAIT < seconds <= 3600:
            return match[0]
        return match[1] + b"timeout=" + str(SHORTEST_WAIT).encode()

    return re.sub(rb"(^|&)timeout=([^&]*)", short, query)


# `extra` of a connection is a JSON object encoded in a string: the contract says so with
# `format: json-object`, which OpenAPI 3.0 cannot define, so schemathesis learns it here.
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
schemathesis.openapi.format("json-object", st.dictionaries(
    st.text(max_size=20), JSON_SCALARS | st.lists(JSON_SCALARS, max_size=3), max_size=4,
).map(json.dumps))

APP = DeferredApp()
schema = schemathesis.openapi.from_path(SPEC, config=CONFIG)
schema.app = APP


@schema.hook
def filter_path_parameters(ctx, path_parameters) -> bool:
    """Every request authenticates as the admin, so the admin itself is never the user a request
    changes: a PATCH could lock it out (`active`, `password`, `roles`). Deleting it would be 409
    (nobody can delete themselves), and logging out or revoking tokens leaves basic auth alone."""
    return (path_parameters or {}).get("username") != ADMIN[0]


@pytest.fixture(scope="module")
def loopback() -> Iterator[LoopbackListener]:
    listener = LoopbackListener()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def no_remote_hosts() -> Iterator[list[str]]:
    """A safety net under the rewrite above: name lookups of other hosts fail and are recorded."""
    real = socket.getaddrinfo
    attempts: list[str] = []

    def loopback_only(host, *args, **kwargs):
        if host not in (None, LOOPBACK, "localhost", "::1", b"127.0.0.1", b"localhost"):
            attempts.append(repr(host))
            raise socket.gaierror(socket.EAI_NONAME, "contract tests only reach loopback")
        return real(host, *args, **kwargs)

    socket.getaddrinfo = loopback_only
    try:
        yield attempts
    finally:
        socket.getaddrinfo = real
    assert not attempts, f"the server tried to reach other hosts: {attempts}"


@pytest.fixture(autouse=True)
def bind_app(app, loopback, no_remote_hosts) -> None:
    APP.target = app
    APP.port = loopback.port


@schema.parametrize()
def test_operation(case):
    case.call_and_validate()


class APIWorkflow(schema.as_state_machine()):
    """Scenarios that follow the create operations' links; each starts from an empty database.

    Without the reset a scenario would see what earlier ones created, so replaying it (which
    Hypothesis does) would not draw the same steps.
    """

    def setup(self) -> None:
        reset_database()


def test_stateful(bind_app):
    APIWorkflow.run(settings=hypothesis.settings(
        max_examples=STATEFUL_EXAMPLES, stateful_step_count=10, deadline=None,
        derandomize=True, database=None, suppress_health_check=list(hypothesis.HealthCheck)))
