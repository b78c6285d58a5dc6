"""The DAG domain through the generated Python SDK (windsock_client) against a real api-server.

The DAGs come from real files: the `parsed_dags` fixture (tests/e2e/conftest.py) runs
`windsock dags reserialize` on a DAGs folder holding one good DAG file and one with a syntax
error, before each test. Every call then goes SDK -> HTTP -> `windsock api-server` -> database.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest
import windsock_client
from windsock_client.exceptions import (
    ApiException,
    NotFoundException,
    UnprocessableEntityException,
)
from windsock_client.models import (
    ClearDagRun,
    ClearTaskInstancesForm,
    DAGPatch,
    DAGRunCreate,
    DagRunState,
    Error,
    TaskInstanceCollection,
)

from tests.conftest import ADMIN
from tests.e2e.conftest import DagsFolder

ERRORS = "/api/v1/docs/errors"


@pytest.fixture
def dag_api(api_client) -> windsock_client.DAGApi:
    return windsock_client.DAGApi(api_client)


@pytest.fixture
def run_api(api_client) -> windsock_client.DAGRunApi:
    return windsock_client.DAGRunApi(api_client)


@pytest.fixture
def ti_api(api_client) -> windsock_client.TaskInstanceApi:
    return windsock_client.TaskInstanceApi(api_client)


def _problem(exc: ApiException) -> Error:
    """The problem document an error response carries, as the generated Error model."""
    assert exc.headers is not None
    assert exc.headers["Content-Type"].startswith("application/problem+json")
    assert exc.body, "an error response must carry a problem document"
    problem = Error.from_json(exc.body)
    assert problem.status == exc.status
    assert problem.type.startswith(ERRORS)
    assert problem.title
    return problem


def _states(ti_api, dag_id: str, run_id: str) -> dict[str, object]:
    """Each task instance of the run as a dict, by task id."""
    page = ti_api.get_task_instances(dag_id, run_id)
    assert page.total_entries == len(page.task_instances)
    return {ti.task_id: ti.to_dict() for ti in page.task_instances}


# --- DAGs ----------------------------------------------------------------------------------------


def test_dags_are_listed_and_filtered_by_tag(dag_api, parsed_dags: DagsFolder):
    listed = dag_api.get_dags(tags=["e2e"])
    assert listed.total_entries == 1
    [dag] = listed.dags
    assert dag.dag_id == parsed_dags.dag_id
    assert [tag.name for tag in dag.tags] == sorted(parsed_dags.tags)

    # Any one of several tags matches; an unknown tag matches nothing.
    assert [d.dag_id for d in dag_api.get_dags(tags=["no-such-tag", "sdk"]).dags] == [
        parsed_dags.dag_id]
    nothing = dag_api.get_dags(tags=["no-such-tag"])
    assert (nothing.total_entries, nothing.dags) == (0, [])

    # The broken file defines no DAG; only the good one is listed.
    everything = dag_api.get_dags()
    assert [d.dag_id for d in everything.dags] == [parsed_dags.dag_id]
    assert dag_api.get_dags(dag_id_pattern="E2E_PIPE").total_entries == 1
    assert dag_api.get_dags(dag_id_pattern="broken").total_entries == 0


def test_dag_and_its_details_and_tasks(dag_api, parsed_dags: DagsFolder):
    fileloc = str(parsed_dags.good_file)

    dag = dag_api.get_dag(parsed_dags.dag_id)
    assert dag.dag_id == parsed_dags.dag_id
    assert dag.fileloc == fileloc
    assert dag.file_token == hashlib.sha256(fileloc.encode()).hexdigest()
    assert dag.owners == [parsed_dags.owner]
    assert dag.description == "The end-to-end test pipeline."
    assert [tag.name for tag in dag.tags] == sorted(parsed_dags.tags)
    assert dag.is_paused is True  # [core] dags_are_paused_at_creation
    assert dag.is_active is True
    assert dag.has_import_errors is False
    assert dag.schedule_interval is None
    assert dag.next_dagrun is None
    assert dag.last_parsed_time is not None and dag.last_parsed_time.tzinfo is not None

    details = dag_api.get_dag_details(parsed_dags.dag_id)
    assert details.dag_id == dag.dag_id
    assert details.file_token == dag.file_token
    assert details.catchup is False
    assert details.start_date == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert details.end_date is None
    param = details.params[parsed_dags.param]
    assert param["value"] == parsed_dags.param_default
    assert param["description"] == "Rows per batch."
    assert param["schema"] == {"type": "integer", "minimum": parsed_dags.param_minimum}
    assert set(details.params) == {parsed_dags.param}

    tasks = dag_api.get_tasks(parsed_dags.dag_id)
    assert tasks.total_entries == len(parsed_dags.task_ids)
    by_id = {t.task_id: t for t in tasks.tasks}
    assert set(by_id) == set(parsed_dags.task_ids)
    chain = parsed_dags.task_ids
    for upstream, downstream in zip(chain, chain[1:]):
        assert by_id[upstream].downstream_task_ids == [downstream]
    assert by_id[chain[-1]].downstream_task_ids == []
    assert {t.class_ref.class_name for t in tasks.tasks if t.task_id != "report"} == {"PythonTask"}
    assert by_id["report"].class_ref.class_name == "ShellTask"
    assert by_id["load"].retries == 2
    assert by_id["extract"].retries == 0
    assert {t.owner for t in tasks.tasks} == {parsed_dags.owner}

    assert dag_api.get_task(parsed_dags.dag_id, "report") == by_id["report"]


def test_unknown_dag_is_a_404_problem(dag_api, parsed_dags: DagsFolder):
    with pytest.raises(NotFoundException) as caught:
        dag_api.get_dag("no_such_dag")
    problem = _problem(caught.value)
    assert problem.type == f"{ERRORS}#not-found"
    assert "no_such_dag" in (problem.detail or "")


def test_dag_source_by_file_token(dag_api, parsed_dags: DagsFolder):
    token = dag_api.get_dag(parsed_dags.dag_id).file_token

    source = dag_api.get_dag_source(token)  # the SDK asks for JSON
    assert source.content == parsed_dags.good_source

    plain = dag_api.get_dag_source_without_preload_content(token,
                                                           _headers={"Accept": "text/plain"})
    assert plain.status == 200
    assert plain.headers["Content-Type"].startswith("text/plain")
    assert plain.data.decode() == parsed_dags.good_source

    with pytest.raises(NotFoundException) as caught:
        dag_api.get_dag_source("0" * 64)
    _problem(caught.value)


# --- import errors -------------------------------------------------------------------------------


def test_import_errors(api_client, parsed_dags: DagsFolder):
    api = windsock_client.ImportErrorApi(api_client)

    listed = api.get_import_errors()
    assert listed.total_entries == 1
    [error] = listed.import_errors
    assert error.filename == str(parsed_dags.broken_file)
    assert "SyntaxError" in error.stack_trace
    assert error.timestamp.tzinfo is not None

    assert api.get_import_error(error.import_error_id) == error

    with pytest.raises(NotFoundException) as caught:
        api.get_import_error(error.import_error_id + 1000)
    _problem(caught.value)


# --- pausing, triggering, clearing ---------------------------------------------------------------


def test_unpause_trigger_read_back_and_clear_dry_run(api_client, dag_api, run_api, ti_api,
                                                       parsed_dags: DagsFolder):
    dag_id = parsed_dags.dag_id

    # unpause
    patched = dag_api.patch_dag(dag_id, DAGPatch(is_paused=False), update_mask=["is_paused"])
    assert (patched.dag_id, patched.is_paused) == (dag_id, False)
    assert dag_api.get_dag(dag_id).is_paused is False
    assert [d.dag_id for d in dag_api.get_dags(paused=False).dags] == [dag_id]
    assert dag_api.get_dags(paused=True).total_entries == 0

    # trigger with conf
    run = run_api.post_dag_run(dag_id, DAGRunCreate(dag_run_id="e2e_run_1",
                                                    conf={parsed_dags.param: 50},
                                                    note="triggered by the e2e tests"))
    assert (run.dag_id, run.dag_run_id) == (dag_id, "e2e_run_1")
    assert run.state == DagRunState.QUEUED
    assert run.run_type == "manual"
    assert run.external_trigger is True
    assert run.conf == {parsed_dags.param: 50}
    assert run.note == "triggered by the e2e tests"
    assert run.logical_date is not None and run.logical_date.tzinfo is not None
    assert run.execution_date == run.logical_date
    assert run.start_date is None and run.end_date is None

    # read it back
    fetched = run_api.get_dag_run(dag_id, "e2e_run_1")
    assert fetched.dag_run_id == "e2e_run_1"
    assert fetched.conf == {parsed_dags.param: 50}
    assert fetched.state == DagRunState.QUEUED
    assert fetched.logical_date == run.logical_date
    assert [r.dag_run_id for r in run_api.get_dag_runs(dag_id).dag_runs] == ["e2e_run_1"]

    # one task instance per task, none decided yet
    before = _states(ti_api, dag_id, "e2e_run_1")
    assert set(before) == set(parsed_dags.task_ids)
    for ti in before.values():
        assert ti["state"] is None
        assert ti["try_number"] == 0
        assert ti["dag_run_id"] == "e2e_run_1"
        assert ti["start_date"] is None

    # clear every task instance of the DAG, dry run: all are listed, nothing changes
    would = dag_api.post_clear_task_instances(dag_id, ClearTaskInstancesForm(
        dry_run=True, only_failed=False))
    assert sorted(ref.task_id for ref in would.task_instances) == sorted(parsed_dags.task_ids)
    assert {ref.dag_run_id for ref in would.task_instances} == {"e2e_run_1"}
    assert {ref.execution_date for ref in would.task_instances} == {run.logical_date}
    assert _states(ti_api, dag_id, "e2e_run_1") == before
    assert run_api.get_dag_run(dag_id, "e2e_run_1").state == DagRunState.QUEUED

    # only_failed (the default) finds nothing to clear: nothing has failed
    none_failed = dag_api.post_clear_task_instances(dag_id, ClearTaskInstancesForm(dry_run=True))
    assert none_failed.task_instances == []

    # clear the run, dry run: the oneOf answer is the task instances, not the DAG run
    result = run_api.clear_dag_run(dag_id, "e2e_run_1", ClearDagRun(dry_run=True))
    collection = result.actual_instance
    assert isinstance(collection, TaskInstanceCollection), result
    assert collection.total_entries == len(parsed_dags.task_ids)
    assert sorted(ti.task_id for ti in collection.task_instances) == sorted(parsed_dags.task_ids)
    assert {ti.state for ti in collection.task_instances} == {None}
    assert _states(ti_api, dag_id, "e2e_run_1") == before
    assert run_api.get_dag_run(dag_id, "e2e_run_1").state == DagRunState.QUEUED

    # the audit trail has the unpause and the trigger, by admin
    logs = windsock_client.EventLogApi(api_client).get_event_logs(dag_id=dag_id,
                                                                  order_by="event_log_id")
    events = [(entry.event, entry.owner) for entry in logs.event_logs]
    assert ("patch_dag", ADMIN[0]) in events
    [trigger] = [entry for entry in logs.event_logs if entry.event == "post_dag_run"]
    assert trigger.owner == ADMIN[0]
    assert trigger.dag_id == dag_id
    assert trigger.when.tzinfo is not None
    extra = json.loads(trigger.extra)
    assert extra["body"]["conf"] == {parsed_dags.param: 50}
    assert extra["body"]["dag_run_id"] == "e2e_run_1"


def test_trigger_without_conf_takes_the_param_defaults(run_api, parsed_dags: DagsFolder):
    run = run_api.post_dag_run(parsed_dags.dag_id, DAGRunCreate())
    assert run.dag_run_id.startswith("manual__")
    assert run.conf == {parsed_dags.param: parsed_dags.param_default}
    assert run_api.get_dag_run(parsed_dags.dag_id, run.dag_run_id).conf == run.conf


@pytest.mark.parametrize("conf", [
    pytest.param({"batch_size": 0}, id="below-minimum"),
    pytest.param({"batch_size": "ten"}, id="wrong-type"),
])
def test_invalid_conf_is_a_422_problem_naming_the_param(run_api, parsed_dags: DagsFolder, conf):
    with pytest.raises(UnprocessableEntityException) as caught:
        run_api.post_dag_run(parsed_dags.dag_id, DAGRunCreate(dag_run_id="e2e_bad", conf=conf))
    assert caught.value.status == 422
    problem = _problem(caught.value)
    assert problem.status == 422
    named = "no_such_param" if "no_such_param" in conf else parsed_dags.param
    assert named in (problem.detail or ""), problem

    # nothing was created
    assert run_api.get_dag_runs(parsed_dags.dag_id).total_entries == 0
    with pytest.raises(NotFoundException):
        run_api.get_dag_run(parsed_dags.dag_id, "e2e_bad")
