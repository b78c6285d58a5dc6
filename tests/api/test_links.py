"""The contract's OpenAPI links, followed by hand: list DAGs -> trigger a run -> read the run ->
list its task instances -> read one. Each step takes its parameters from the link's own
`$response.body#/...` expressions, so a link that points at the wrong field fails here."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.api.helpers import spec
from tests.support.seed import add_dag, sample_dag

DOCUMENT = spec()
BASE = DOCUMENT["servers"][0]["url"]


def _operation(operation_id: str) -> tuple[str, str, dict]:
    for template, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return method, template, operation
    raise LookupError(operation_id)


def _pointer(body, expression: str):
    assert expression.startswith("$response.body#/"), expression
    for part in expression.removeprefix("$response.body#/").split("/"):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


def follow(client, source_id: str, status: str, link_name: str, body: dict, **request):
    """Call the target of link `link_name` on `source_id`'s `status` answer `body`."""
    _, _, source = _operation(source_id)
    link = source["responses"][status]["links"][link_name]
    method, template, _ = _operation(link["operationId"])
    path = template
    for name, expression in link["parameters"].items():
        path = path.replace("{" + name + "}", quote(str(_pointer(body, expression)), safe=""))
    assert "{" not in path, f"link {link_name} leaves parameters unfilled: {path}"
    return client.request(method.upper(), BASE + path, **request)


@pytest.fixture
def dag(migrated):
    dag = sample_dag("linked")
    add_dag(dag)
    return dag


def test_list_trigger_read_run_list_and_read_task_instances(client, dag):
    dags = client.get(f"{BASE}/dags").json()
    assert follow(client, "get_dags", "200", "GetDag", dags).json()["dag_id"] == "linked"

    triggered = follow(client, "get_dags", "200", "TriggerDagRun", dags,
                       json={"conf": {"batch_size": 5}})
    assert triggered.status_code == 201, triggered.text
    run = triggered.json()

    read = follow(client, "post_dag_run", "201", "GetDagRun", run)
    assert read.status_code == 200 and read.json() == run

    listed = follow(client, "post_dag_run", "201", "GetTaskInstances", run)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert {ti["task_id"] for ti in page["task_instances"]} == set(dag.tasks)

    one = follow(client, "get_task_instances", "200", "GetTaskInstance", page)
    assert one.status_code == 200 and one.json() == page["task_instances"][0]

    patched = follow(client, "post_dag_run", "201", "PatchDagRun", run,
                     json={"state": "failed"})
    assert patched.status_code == 200 and patched.json()["state"] == "failed"
    assert follow(client, "post_dag_run", "201", "DeleteDagRun", run).status_code == 204
    assert follow(client, "post_dag_run", "201", "GetDagRun", run).status_code == 404
