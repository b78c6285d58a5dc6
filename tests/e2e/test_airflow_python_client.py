"""The published Airflow Python client (`apache-airflow-client` 2.10, from PyPI) against a live
Windsock, unchanged.

The client type-checks every answer against Airflow's own schemas, so each call here passing is
the proof that the answer fits Airflow's contract. Every operation the client has and Windsock
implements is called at least once (the last test compares the operations called, answered and
deserialized with the shared set, read from the client's API classes and Windsock's bundled
contract), and the places where Windsock deliberately differs from Airflow 2
(docs/differences-from-airflow.md) are exercised through the client too.

One api-server (with the configuration and connection-test endpoints on, which the client can
call) and one real scheduler serve the whole module, which shares one world: a DAGs folder
parsed once (a DAG that fails its first try, one naming a missing pool, a file that does not
import, the example DAGs) and one run executed by the scheduler, failed, cleared through the
client and run again, so that logs, XComs, two tries and event logs exist. Because the tests
read that world, the per-test `clean_database` is replaced by one clean-up after the module.
"""

from __future__ import annotations

import inspect
import json
import shutil
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from airflow_client import client as airflow
from airflow_client.client import apis
from airflow_client.client.api_client import Endpoint
from airflow_client.client.exceptions import ApiException, NotFoundException
from airflow_client.client.model_utils import validate_and_convert_types
from airflow_client.client.models import (
    DAG,
    Action,
    ActionResource,
    ClearDagRun,
    ClearTaskInstances,
    Connection,
    CreateDatasetEvent,
    DAGRun,
    Error,
    ListDagRunsForm,
    ListTaskInstanceForm,
    Pool,
    Resource,
    Role,
    SetDagRunNote,
    SetTaskInstanceNote,
    UpdateDagRunState,
    UpdateTaskInstance,
    UpdateTaskInstancesState,
    UpdateTaskState,
    User,
    UserCollectionItemRoles,
    Variable,
)

from tests.conftest import ADMIN, delete_created_rows
from tests.e2e.conftest import BROKEN_DAG_SOURCE, RUN_DAGS, reserialize_with_examples, settle
from tests.support.scheduler import wait_for

SPEC = Path(__file__).resolve().parents[2] / "spec" / "dist" / "openapi.yaml"
DAG_ID, RUN_ID = "e2e_clear", "airflow_client_run"
CONSUMER, ORDERS = "e2e_orders_consumer", "s3://e2e/orders"  # tests/e2e/run_dags/e2e_datasets.py
MAPPED, MAPPED_RUN = "e2e_mapped", "airflow_client_mapped"  # tests/e2e/run_dags/e2e_mapped.py
BROKEN_FILE = "airflow_client_broken.py"
RUN_TIMEOUT = 60


# --- which operations exist, which were called ---------------------------------------------------


def client_endpoints() -> dict[tuple[str, str], str]:
    """(HTTP method, path template) -> operationId of every operation of the client."""
    found = {}
    for _, api_class in inspect.getmembers(apis, inspect.isclass):
        api = api_class(airflow.ApiClient(airflow.Configuration()))
        for endpoint in vars(api).values():
            if isinstance(endpoint, Endpoint):
                settings = endpoint.settings
                found[settings["http_method"], settings["endpoint_path"]] = settings["operation_id"]
    return found


def windsock_operations() -> set[str]:
    spec = yaml.safe_load(SPEC.read_text())
    return {operation["operationId"] for item in spec["paths"].values()
            for operation in item.values() if isinstance(operation, dict)
            and "operationId" in operation}


class RecordingApiClient(airflow.ApiClient):
    """The client's own ApiClient, noting each operation whose answer it received and
    deserialized (an answer that fails the client's type checks raises before it is noted)."""

    def __init__(self, configuration: airflow.Configuration):
        super().__init__(configuration)
        self.operations = client_endpoints()
        self.answered: set[str] = set()
        self._lock = threading.Lock()

    def call_api(self, resource_path, method, *args, **kwargs):
        result = super().call_api(resource_path, method, *args, **kwargs)
        with self._lock:
            self.answered.add(self.operations[method, resource_path])
        return result


# --- the module's world -------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clean_database() -> Iterator[None]:
    """Replaces the per-test clean-up: the tests of this module share one world (see above)."""
    yield


@pytest.fixture(scope="module")
def api(airflow_client_server) -> Iterator[RecordingApiClient]:
    config = airflow.Configuration(host=f"{airflow_client_server}/api/v1", username=ADMIN[0],
                                   password=ADMIN[1])
    with RecordingApiClient(config) as recording:
        yield recording


def _wait_run(runs: apis.DAGRunApi, scheduler, dag_id: str = DAG_ID,
              run_id: str = RUN_ID) -> DAGRun:
    def finished():
        scheduler.assert_alive()
        run = runs.get_dag_run(dag_id, run_id)
        return run if run.state.value in ("success", "failed") else None

    return wait_for(finished, RUN_TIMEOUT, f"run {dag_id}/{run_id} to finish",
                    scheduler.describe)


@pytest.fixture(scope="module")
def world(migrated, api, scheduler, tmp_path_factory) -> Iterator[DAGRun]:
    """DAG files parsed once; one run of e2e_clear that fails its first try, is cleared through
    the client and succeeds on its second, executed by the module's real scheduler (the run, as
    it finished). Every test asks for it, so that the module's clean-up comes after them all."""
    folder = tmp_path_factory.mktemp("airflow_client_dags")
    # e2e_pool names a pool that does not exist; e2e_datasets waits for an update from outside;
    # e2e_mapped maps a task over its upstream's return value
    for name in ("e2e_clear.py", "e2e_pool.py", "e2e_datasets.py", "e2e_mapped.py"):
        shutil.copy(RUN_DAGS / name, folder / name)
    (folder / BROKEN_FILE).write_text(BROKEN_DAG_SOURCE)
    summary = reserialize_with_examples(migrated, folder)
    assert summary.endswith(", 1 import error"), summary
    try:
        runs = apis.DAGRunApi(api)
        apis.DAGApi(api).patch_dag(DAG_ID, DAG(is_paused=False), update_mask=["is_paused"])
        runs.post_dag_run(DAG_ID, DAGRun(dag_run_id=RUN_ID,
                                         conf={"marker": str(folder / "tried")}))
        assert _wait_run(runs, scheduler).state.value == "failed"
        cleared = apis.DAGApi(api).post_clear_task_instances(DAG_ID, ClearTaskInstances(
            dry_run=False, dag_run_id=RUN_ID, only_failed=True))
        assert {ref.task_id for ref in cleared.task_instances} == {"fails_once", "downstream"}
        run = _wait_run(runs, scheduler)
        assert run.state.value == "success", scheduler.describe()
        apis.DAGApi(api).patch_dag(MAPPED, DAG(is_paused=False), update_mask=["is_paused"])
        runs.post_dag_run(MAPPED, DAGRun(dag_run_id=MAPPED_RUN))
        mapped = _wait_run(runs, scheduler, MAPPED, MAPPED_RUN)
        assert mapped.state.value == "success", scheduler.describe()
        yield run
    finally:
        settle(scheduler)
        delete_created_rows()


# --- tests ---------------------------------------------------------------------------------------


def test_health_version_and_configuration(api, world):
    monitoring, config = apis.MonitoringApi(api), apis.ConfigApi(api)
    health = monitoring.get_health()
    assert (health.metadatabase.status.value, health.scheduler.status.value) == ("healthy",
                                                                          "healthy")
    assert monitoring.get_version().version
    sections = {section.name for section in config.get_config().sections}
    assert {"core", "api"} <= sections
    only_api = config.get_config(section="api")
    assert [section.name for section in only_api.sections] == ["api"]
    value = config.get_value("api", "expose_config")
    assert [(o.key, o.value) for o in value.sections[0].options] == [("expose_config", "True")]


def test_variables(api, world):
    variables = apis.VariableApi(api)
    created, status, _ = variables.post_variables(
        Variable(key="region", value="eu-west-1", description="where to run"),
        _return_http_data_only=False)
    assert (status, created.value) == (201, "eu-west-1")  # 201 where Airflow answers 200
    # POST of an existing key sets its value, as in Airflow 2.
    replaced, status, _ = variables.post_variables(Variable(key="region", value="us-east-2"),
                                                   _return_http_data_only=False)
    assert (status, replaced.value) == (200, "us-east-2")
    assert variables.get_variable("region").value == "us-east-2"
    variables.post_variables(Variable(key="zone", value="a"))
    for order_by, keys in {"key": ["region", "zone"], "-key": ["zone", "region"],
                           "value": ["zone", "region"], "-value": ["region", "zone"],
                           "id": ["region", "zone"], "-id": ["zone", "region"]}.items():
        page = variables.get_variables(order_by=order_by, limit=10, offset=0)
        assert [v.key for v in page.variables] == keys, order_by
    patched = variables.patch_variable("zone", Variable(key="zone", value="b"),
                                       update_mask=["value"])
    assert patched.value == "b"
    variables.delete_variable("zone")
    with pytest.raises(NotFoundException):
        variables.get_variable("zone")


def test_concurrent_posts_of_one_key_create_it_once_and_overwrite_it(airflow_client_server, world):
    """Eight clients POST the same new key at once: one creates it (201), the others set it
    (200); none fails."""
    statuses: list[int] = []

    def post(value: str) -> None:
        config = airflow.Configuration(host=f"{airflow_client_server}/api/v1", username=ADMIN[0],
                                       password=ADMIN[1])
        with airflow.ApiClient(config) as own:
            _, status, _ = apis.VariableApi(own).post_variables(
                Variable(key="raced", value=value), _return_http_data_only=False)
            statuses.append(status)

    threads = [threading.Thread(target=post, args=(f"v{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 7 + [201], statuses


def test_connections(api, world, airflow_client_server):
    connections = apis.ConnectionApi(api)
    port = int(airflow_client_server.rsplit(":", 1)[1])
    created, status, _ = connections.post_connection(Connection(
        connection_id="warehouse", conn_type="postgres", host="db.example.org", port=5432,
        login="etl", password="s3cret", schema="dw", description="the warehouse",
        extra=json.dumps({"sslmode": "require"})), _return_http_data_only=False)
    assert status == 201 and created.connection_id == "warehouse"
    connections.post_connection(Connection(connection_id="api", conn_type="http",
                                           host="127.0.0.1", port=port, description="windsock"))
    got = connections.get_connection("warehouse")
    assert (got.host, got.port, got.schema) == ("db.example.org", 5432, "dw")
    assert not hasattr(got, "password") or got.password != "s3cret"
    for order_by, ids in {"connection_id": ["api", "warehouse"],
                          "conn_type": ["api", "warehouse"], "-conn_type": ["warehouse", "api"],
                          "host": ["api", "warehouse"], "port": ["warehouse", "api"],
                          "-port": ["api", "warehouse"], "description": ["warehouse", "api"],
                          "id": ["warehouse", "api"], "-id": ["api", "warehouse"]}.items():
        page = connections.get_connections(order_by=order_by, limit=10, offset=0)
        assert [c.connection_id for c in page.connections] == ids, order_by
    patched = connections.patch_connection("warehouse", Connection(
        connection_id="warehouse", conn_type="postgres", port=5433), update_mask=["port"])
    assert patched.port == 5433
    # The connection test opens a TCP connection to the api-server's own port.
    tested = connections.test_connection(Connection(connection_id="api", conn_type="http",
                                                    host="127.0.0.1", port=port))
    assert tested.status is True, tested.message
    connections.delete_connection("api")
    assert connections.get_connections().total_entries == 1


def test_pools(api, world):
    pools = apis.PoolApi(api)
    created, status, _ = pools.post_pool(Pool(name="etl", slots=3, description="ETL jobs"),
                                         _return_http_data_only=False)
    assert (status, created.open_slots) == (201, 3)
    assert pools.get_pool("etl").slots == 3
    for order_by, names in {"name": ["default_pool", "etl"], "-name": ["etl", "default_pool"],
                            "slots": ["etl", "default_pool"], "id": ["default_pool", "etl"],
                            "-id": ["etl", "default_pool"]}.items():
        page = pools.get_pools(order_by=order_by)
        assert [p.name for p in page.pools] == names, order_by
    assert pools.patch_pool("etl", Pool(name="etl", slots=5), update_mask=["slots"]).slots == 5
    pools.delete_pool("etl")
    assert pools.get_pools().total_entries == 1


def test_roles_permissions_and_users(api, world):
    roles, users = apis.RoleApi(api), apis.UserApi(api)
    actions = apis.PermissionApi(api).get_permissions(limit=100)
    assert "can_read" in {a.name for a in actions.actions}
    read_variables = ActionResource(action=Action(name="can_read"),
                                    resource=Resource(name="Variables"))
    role, status, _ = roles.post_role(Role(name="auditor", actions=[read_variables]),
                                      _return_http_data_only=False)
    assert status == 201 and role.name == "auditor"
    assert [a.resource.name for a in roles.get_role("auditor").actions] == ["Variables"]
    by_name = [r.name for r in roles.get_roles(order_by="name").roles]
    assert "auditor" in by_name
    assert [r.name for r in roles.get_roles(order_by="-name").roles] == by_name[::-1]
    assert [r.name for r in roles.get_roles(order_by="role_id").roles][-1] == "auditor"
    assert [r.name for r in roles.get_roles(order_by="-role_id", limit=1).roles] == ["auditor"]
    read_pools = ActionResource(action=Action(name="can_read"), resource=Resource(name="Pools"))
    patched = roles.patch_role("auditor", Role(name="auditor",
                                               actions=[read_variables, read_pools]))
    assert sorted(a.resource.name for a in patched.actions) == ["Pools", "Variables"]

    user, status, _ = users.post_user(User(
        username="jdoe", password="a long enough password", email="jdoe@example.org",
        first_name="Jane", last_name="Doe", roles=[UserCollectionItemRoles(name="auditor")]),
        _return_http_data_only=False)
    assert status == 201 and user.email == "jdoe@example.org"
    assert users.get_user(ADMIN[0]).email  # the admin has an email too
    assert [r.name for r in users.get_user("jdoe").roles] == ["auditor"]
    for order_by, first in {"id": ADMIN[0], "-id": "jdoe", "user_name": ADMIN[0],
                            "-user_name": "jdoe", "first_name": ADMIN[0], "last_name": ADMIN[0],
                            "-last_name": "jdoe", "email": ADMIN[0], "is_active": ADMIN[0],
                            "role": ADMIN[0], "-role": "jdoe"}.items():
        page = users.get_users(order_by=order_by, limit=100)
        assert page.users[0].username == first, order_by
    patched_user = users.patch_user("jdoe", User(username="jdoe", email="jdoe@example.org",
                                                 first_name="Janet", last_name="Doe"),
                                    update_mask=["first_name"])
    assert patched_user.first_name == "Janet"
    users.delete_user("jdoe")
    roles.delete_role("auditor")
    with pytest.raises(NotFoundException):
        roles.get_role("auditor")


def test_dags_tasks_source_warnings_and_import_errors(api, world):
    dags = apis.DAGApi(api)
    page = dags.get_dags(tags=["e2e-runs"], order_by="-dag_id")
    assert [d.dag_id for d in page.dags] == ["e2e_pool", CONSUMER, DAG_ID]
    consumer = dags.get_dag_details(CONSUMER)
    assert consumer.dataset_expression == {"all": [ORDERS]}
    assert consumer.timetable_description == "Triggered by datasets"
    assert dags.get_dags(dag_id_pattern="example_", only_active=True, paused=True).total_entries
    dag = dags.get_dag(DAG_ID)
    assert (dag.dag_id, dag.is_paused) == (DAG_ID, False)
    assert dags.get_dag(DAG_ID, fields=["dag_id", "is_paused"]).dag_id == DAG_ID
    details = dags.get_dag_details(DAG_ID)
    assert details.params["marker"]
    assert dags.get_dag_details(DAG_ID, fields=["dag_id", "params"]).dag_id == DAG_ID
    source = dags.get_dag_source(dag.file_token)
    assert 'DAG("e2e_clear"' in source.content
    dags.reparse_dag_file(dag.file_token)

    tasks = dags.get_tasks(DAG_ID)
    assert [t.task_id for t in tasks.tasks] == ["downstream", "fails_once"]
    for order_by in ("task_id", "-task_id", "owner", "pool", "priority_weight", "retries",
                     "pool_slots", "trigger_rule", "queue", "weight_rule", "depends_on_past",
                     "start_date", "ui_color"):
        assert dags.get_tasks(DAG_ID, order_by=order_by).total_entries == 2, order_by
    task = dags.get_task(DAG_ID, "downstream")
    assert task.downstream_task_ids == [] and task.trigger_rule.value == "all_success"

    paused = dags.patch_dags("e2e_poo", DAG(is_paused=True), update_mask=["is_paused"])
    assert [(d.dag_id, d.is_paused) for d in paused.dags] == [("e2e_pool", True)]

    warnings = apis.DagWarningApi(api)
    found = warnings.get_dag_warnings(dag_id="e2e_pool", warning_type="non-existent pool")
    # (Airflow's own contract names the list `import_errors` here, so the client leaves the
    # `dag_warnings` that Airflow's server and Windsock send as plain dicts.)
    assert "e2e_one_slot" in found.dag_warnings[0]["message"]
    for order_by in ("message", "-message", "dag_id", "warning_type", "timestamp"):
        assert warnings.get_dag_warnings(order_by=order_by).total_entries == 1, order_by

    errors = apis.ImportErrorApi(api)
    listed = errors.get_import_errors(order_by="-timestamp")
    assert [Path(e.filename).name for e in listed.import_errors] == [BROKEN_FILE]
    error = errors.get_import_error(listed.import_errors[0].import_error_id)
    assert "SyntaxError" in error.stack_trace

    stats = apis.DagStatsApi(api).get_dag_stats(dag_ids=DAG_ID)
    assert {(s.state, s.count) for s in stats.dags[0].stats} >= {("success", 1)}

    dags.delete_dag("example_branch")
    with pytest.raises(NotFoundException):
        dags.get_dag("example_branch")


def test_the_run_its_task_instances_tries_logs_and_xcoms(api, world):
    runs, tis, xcoms = apis.DAGRunApi(api), apis.TaskInstanceApi(api), apis.XComApi(api)
    run = runs.get_dag_run(DAG_ID, RUN_ID)
    assert (run.state.value, run.conf["marker"]) == ("success", world.conf["marker"])
    assert runs.get_dag_run(DAG_ID, RUN_ID, fields=["dag_run_id", "state"]).state.value == "success"
    since = run.start_date - timedelta(minutes=1)
    for order_by in ("id", "-execution_date", "dag_run_id", "state", "start_date", "end_date",
                     "updated_at", "external_trigger", "conf", "dag_id"):
        page = runs.get_dag_runs(DAG_ID, order_by=order_by, state=["success"],
                                 start_date_gte=since, end_date_lte=datetime.now(timezone.utc))
        assert [r.dag_run_id for r in page.dag_runs] == [RUN_ID], order_by
    batch = runs.get_dag_runs_batch(ListDagRunsForm(dag_ids=[DAG_ID], order_by="-conf",
                                                    states=["success"]))
    assert [r.dag_run_id for r in batch.dag_runs] == [RUN_ID]

    listed = tis.get_task_instances(DAG_ID, RUN_ID, state=["success"], duration_gte=0.0)
    assert sorted(ti.task_id for ti in listed.task_instances) == ["downstream", "fails_once"]
    batch_tis = tis.get_task_instances_batch(ListTaskInstanceForm(dag_ids=[DAG_ID],
                                                                  task_ids=["fails_once"]))
    assert [ti.try_number for ti in batch_tis.task_instances] == [2]
    ti = tis.get_task_instance(DAG_ID, RUN_ID, "fails_once")
    assert (ti.state.value, ti.try_number) == ("success", 2)
    deps = tis.get_task_instance_dependencies(DAG_ID, RUN_ID, "fails_once")
    assert deps.dependencies is not None

    tries = tis.get_task_instance_tries(DAG_ID, RUN_ID, "fails_once", order_by="-try_number")
    assert [(t.try_number, t.state.value) for t in tries.task_instances] == [(2, "success"),
                                                                       (1, "failed")]
    first = tis.get_task_instance_try_details(DAG_ID, RUN_ID, "fails_once", 1)
    assert first.state.value == "failed"

    log = tis.get_log(DAG_ID, RUN_ID, "fails_once", 1, full_content=True)
    assert "the first try fails" in log.content
    assert isinstance(log.continuation_token, str)  # Airflow always sends one
    head = tis.get_log(DAG_ID, RUN_ID, "fails_once", 1)
    assert head.content == log.content  # (one page holds this short log)
    # Read on from the end of a finished try's log: nothing more.
    assert tis.get_log(DAG_ID, RUN_ID, "fails_once", 1,
                       token=head.continuation_token).content == ""

    entries = xcoms.get_xcom_entries(DAG_ID, RUN_ID, "~", xcom_key="return_value")
    assert sorted(e.task_id for e in entries.xcom_entries) == ["downstream", "fails_once"]
    value = xcoms.get_xcom_entry(DAG_ID, RUN_ID, "fails_once", "return_value",
                                 deserialize=True, stringify=False).value
    assert value == {"try": "second", "ok": True}
    text = xcoms.get_xcom_entry(DAG_ID, RUN_ID, "downstream", "return_value").value
    assert "second" in text


def test_changing_runs_and_task_instances(api, world):
    runs, tis, dags = apis.DAGRunApi(api), apis.TaskInstanceApi(api), apis.DAGApi(api)
    noted = runs.set_dag_run_note(DAG_ID, RUN_ID, SetDagRunNote(note="checked"))
    assert noted.note == "checked"
    ti_noted = tis.set_task_instance_note(DAG_ID, RUN_ID, "downstream",
                                          SetTaskInstanceNote(note="fine"))
    assert ti_noted.note == "fine"
    would_clear = runs.clear_dag_run(DAG_ID, RUN_ID, ClearDagRun(dry_run=True))
    assert {ref["task_id"] for ref in would_clear["task_instances"]} == {"fails_once",
                                                                        "downstream"}
    failed = UpdateTaskState("failed")
    would_set = dags.post_set_task_instances_state(DAG_ID, UpdateTaskInstancesState(
        dry_run=True, task_id="downstream", dag_run_id=RUN_ID, new_state=failed))
    assert [ref.task_id for ref in would_set.task_instances] == ["downstream"]
    ref = tis.patch_task_instance(DAG_ID, RUN_ID, "downstream",
                                  UpdateTaskInstance(dry_run=True, new_state=failed))
    assert ref.task_id == "downstream"
    assert tis.get_task_instance(DAG_ID, RUN_ID, "downstream").state.value == "success"
    marked = runs.update_dag_run_state(DAG_ID, RUN_ID, UpdateDagRunState(state="success"))
    assert marked.state.value == "success"

    # A second run of a paused DAG stays queued; delete it.
    dags.patch_dag("e2e_pool", DAG(is_paused=True), update_mask=["is_paused"])
    runs.post_dag_run("e2e_pool", DAGRun(dag_run_id="to_delete"))
    runs.delete_dag_run("e2e_pool", "to_delete")
    assert runs.get_dag_runs("e2e_pool").total_entries == 0



def test_mapped_task_instances(api, world):
    tis, xcoms = apis.TaskInstanceApi(api), apis.XComApi(api)
    page = tis.get_mapped_task_instances(MAPPED, MAPPED_RUN, "load", order_by="-map_index",
                                         state=["success"], limit=10)
    assert ([ti.map_index for ti in page.task_instances], page.total_entries) == ([2, 1, 0], 3)
    one = tis.get_mapped_task_instance(MAPPED, MAPPED_RUN, "load", 1)
    assert (one.map_index, one.state.value, one.try_number) == (1, "success", 1)
    assert tis.get_mapped_task_instance_dependencies(MAPPED, MAPPED_RUN, "load",
                                                     1).dependencies is not None
    noted = tis.set_mapped_task_instance_note(MAPPED, MAPPED_RUN, "load", 1,
                                              SetTaskInstanceNote(note="second file"))
    assert noted.note == "second file"
    tries = tis.get_mapped_task_instance_tries(MAPPED, MAPPED_RUN, "load", 1)
    assert [t.try_number for t in tries.task_instances] == [1]
    assert tis.get_mapped_task_instance_try_details(MAPPED, MAPPED_RUN, "load", 1,
                                                    1).map_index == 1
    ref = tis.patch_mapped_task_instance(MAPPED, MAPPED_RUN, "load", 1,
                                         update_task_instance=UpdateTaskInstance(
                                             dry_run=True, new_state=UpdateTaskState("failed")))
    assert ref.task_id == "load"
    log = tis.get_log(MAPPED, MAPPED_RUN, "load", 1, map_index=2, full_content=True)
    assert "loading c.csv into orders" in log.content
    entry = xcoms.get_xcom_entry(MAPPED, MAPPED_RUN, "load", "return_value", map_index=2,
                                 deserialize=True, stringify=False)
    assert entry.value == "orders:c.csv"
    total = xcoms.get_xcom_entry(MAPPED, MAPPED_RUN, "total", "return_value",
                                 deserialize=True, stringify=False)
    assert total.value == ["orders:a.csv", "orders:b.csv", "orders:c.csv"]
    [task] = [t for t in apis.DAGApi(api).get_tasks(MAPPED).tasks if t.task_id == "load"]
    assert task.is_mapped


def test_extra_links_plugins_and_providers(api, world):
    links = apis.TaskInstanceApi(api).get_extra_links(DAG_ID, RUN_ID, "fails_once")
    # The test provider package's plugin adds a link to every task instance.
    assert links["Example provider"] == f"https://provider.example.org/{DAG_ID}/fails_once"
    plugins = apis.PluginApi(api).get_plugins(limit=10, offset=0)
    assert "example_provider" in [plugin.name for plugin in plugins.plugins]
    assert plugins.total_entries >= 1
    providers = apis.ProviderApi(api).get_providers()  # this client answers a plain dict
    assert {"windsock", "windsock-example-provider"} <= {
        provider["package_name"] for provider in providers["providers"]}

def test_datasets_and_an_update_reported_from_outside(api, world, scheduler):
    datasets, runs = apis.DatasetApi(api), apis.DAGRunApi(api)
    [orders] = datasets.get_datasets(uri_pattern="e2e/ord", dag_ids=CONSUMER,
                                     order_by="-uri").datasets
    assert ([ref.dag_id for ref in orders.consuming_dags], orders.producing_tasks) == ([CONSUMER],
                                                                                        [])
    assert datasets.get_dataset(ORDERS).id == orders.id  # the client encodes the slashes

    def report(batch: int):
        event = datasets.create_dataset_event(CreateDatasetEvent(dataset_uri=ORDERS,
                                                                 extra={"batch": batch}))
        assert (event.dataset_uri, event.source_dag_id, event.extra["batch"]) == (ORDERS, None,
                                                                                 batch)

    # The consumer is paused: each update waits in its queue, which each DELETE empties.
    for delete in (lambda: datasets.delete_dag_dataset_queued_event(CONSUMER, ORDERS),
                   lambda: datasets.delete_dag_dataset_queued_events(CONSUMER),
                   lambda: datasets.delete_dataset_queued_events(ORDERS)):
        report(1)
        queued = datasets.get_dataset_queued_events(ORDERS).datasets
        assert [(q.uri, q.dag_id) for q in queued] == [(ORDERS, CONSUMER)]
        assert [q.uri for q in datasets.get_dag_dataset_queued_events(CONSUMER).datasets] == [
            ORDERS]
        assert datasets.get_dag_dataset_queued_event(CONSUMER, ORDERS).dag_id == CONSUMER
        delete()
        with pytest.raises(NotFoundException):
            datasets.get_dag_dataset_queued_event(CONSUMER, ORDERS)

    # Unpaused, the next update triggers a run that names it as its upstream event.
    apis.DAGApi(api).patch_dag(CONSUMER, DAG(is_paused=False), update_mask=["is_paused"])
    report(2)

    def triggered():
        scheduler.assert_alive()
        found = runs.get_dag_runs(CONSUMER, state=["success"]).dag_runs
        return found[0] if found else None

    run = wait_for(triggered, RUN_TIMEOUT, f"a dataset-triggered run of {CONSUMER}",
                   scheduler.describe)
    assert run.run_type == "dataset_triggered"
    # As in Airflow, a DAG's first dataset-triggered run consumes every earlier update of its
    # datasets, including those whose queue entries were deleted.
    upstream = datasets.get_upstream_dataset_events(CONSUMER, run.dag_run_id).dataset_events
    assert [e.extra["batch"] for e in upstream] == [1, 1, 1, 2]
    assert (upstream[-1].extra, upstream[-1].dataset_id) == ({"batch": 2, "from_rest_api": True},
                                                             orders.id)
    assert [r.run_id for r in upstream[-1].created_dagruns] == [run.dag_run_id]
    events = datasets.get_dataset_events(dataset_id=orders.id, order_by="-timestamp")
    assert events.total_entries == 4
    assert events.dataset_events[0].created_dagruns[0].state.value == "success"


def test_event_logs(api, world):
    events = apis.EventLogApi(api)
    scheduler_events = events.get_event_logs(dag_id=DAG_ID, run_id=RUN_ID, owner="scheduler",
                                             order_by="event_log_id", limit=100)
    assert "scheduler.run_failed" in [e.event for e in scheduler_events.event_logs]
    for order_by in ("event_log_id", "-when", "dag_id", "task_id", "run_id", "-run_id", "event",
                     "execution_date", "-execution_date", "owner", "extra", "-extra"):
        page = events.get_event_logs(dag_id=DAG_ID, order_by=order_by, limit=100)
        assert page.total_entries == len(page.event_logs) > 0, order_by
    by_run = events.get_event_logs(dag_id=DAG_ID, order_by="run_id", limit=100).event_logs
    assert (by_run[0].run_id, by_run[-1].run_id) == (RUN_ID, None)  # no run id sorts last
    one = events.get_event_log(scheduler_events.event_logs[0].event_log_id)
    assert one.run_id == RUN_ID


# --- where Windsock differs from Airflow 2 (docs/differences-from-airflow.md) ---------------------


def _problem(api: RecordingApiClient, exc: ApiException) -> Error:
    """The error answer, deserialized by the client's own code as Airflow's `Error`."""
    assert exc.headers["Content-Type"] == "application/problem+json"
    return validate_and_convert_types(json.loads(exc.body), (Error,), ["received_data"], True,
                                      True, configuration=api.configuration)


def test_unprocessable_bodies_are_422_problems_the_client_reads(api, world):
    with pytest.raises(ApiException) as raised:
        apis.UserApi(api).post_user(User(
            username="nobody", password="a long enough password", email="nobody@example.org",
            first_name="No", last_name="Body", roles=[UserCollectionItemRoles(name="Ghosts")]))
    problem = _problem(api, raised.value)
    assert (raised.value.status, problem.status, problem.title) == (422, 422,
                                                                    "Unprocessable Content")
    assert "Ghosts" in problem.detail


def test_lists_under_an_unknown_dag_or_run_are_404_problems_the_client_reads(api, world):
    for call in (lambda: apis.DAGRunApi(api).get_dag_runs("no_such_dag"),
                 lambda: apis.TaskInstanceApi(api).get_task_instances(DAG_ID, "no_such_run"),
                 lambda: apis.XComApi(api).get_xcom_entries(DAG_ID, "no_such_run", "~")):
        with pytest.raises(NotFoundException) as raised:
            call()
        problem = _problem(api, raised.value)
        assert problem.status == 404 and problem.type.endswith("#not-found"), problem


def test_a_limit_above_the_maximum_is_a_400_problem_the_client_reads(api, world):
    with pytest.raises(ApiException) as raised:
        apis.VariableApi(api).get_variables(limit=101)  # Airflow would cut it to 100
    assert (raised.value.status, _problem(api, raised.value).status) == (400, 400)


def test_dag_id_pattern_is_a_plain_substring(api, world):
    dags = apis.DAGApi(api)
    assert [d.dag_id for d in dags.get_dags(dag_id_pattern="e2e_poo").dags] == ["e2e_pool"]
    assert dags.get_dags(dag_id_pattern="e2e%pool").total_entries == 0  # no wildcards


def test_every_shared_operation_was_called(api):
    """Runs last: every operation both the client and Windsock have was answered and
    deserialized by the tests above."""
    shared = set(client_endpoints().values()) & windsock_operations()
    assert len(shared) > 60
    assert api.answered == shared, f"never called: {sorted(shared - api.answered)}"
