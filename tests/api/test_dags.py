"""DAGs: listing and filtering, fields, pausing one or a page of DAGs, deleting, details, tasks,
source files and parse requests. DAGs are seeded as the DAG processor would store them."""

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update

from tests.api.helpers import API, assert_problem
from tests.support import queries
from tests.support.seed import EPOCH, add_dag, add_run, add_xcom, sample_dag
from windsock import DAG, Param, ShellTask, task
from windsock.db.engine import session
from windsock.db.models import (Dag, DagCode, DagParsingRequest, DagRun, DagTag, DagWarning,
                                SerializedDag, TaskInstance, XCom)

DAGS = f"{API}/dags"


def url(*parts: str) -> str:
    return "/".join([DAGS, *parts])


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [dag["dag_id"] for dag in response.json()["dags"]]


def set_columns(dag_id: str, **values) -> None:
    with session() as sess:
        sess.execute(update(Dag).where(Dag.dag_id == dag_id).values(**values))


def count(model, **where) -> int:
    with session() as sess:
        return sess.scalar(select(func.count()).select_from(model).filter_by(**where))


@pytest.fixture
def fleet(migrated):
    """Five DAGs: two paused, one no longer in its file, tags spread over them."""
    add_dag(sample_dag("export_orders", tags=("finance", "nightly"), schedule="0 3 * * *"))
    add_dag(sample_dag("Export_Invoices", tags=("finance",)), paused=True)
    add_dag(sample_dag("sync_users", tags=("crm",), schedule=timedelta(hours=1)))
    add_dag(sample_dag("report", tags=()), paused=True)
    add_dag(sample_dag("retired_export", tags=("finance",)), active=False)
    return ["Export_Invoices", "export_orders", "report", "sync_users"]


def test_get_dag_answers_every_field(client, fleet):
    response = client.get(url("export_orders"))
    assert response.status_code == 200
    dag = response.json()
    token = dag.pop("file_token")
    assert len(token) == 64
    assert dag.pop("last_parsed_time").endswith("+00:00")
    assert dag == {
        "dag_id": "export_orders", "dag_display_name": "export_orders", "root_dag_id": None,
        "is_paused": False, "is_active": True, "is_subdag": False, "default_view": "grid",
        "fileloc": "/dags/export_orders.py", "owners": ["data-team"],
        "description": "The export_orders pipeline.",
        "schedule_interval": {"__type": "CronExpression", "value": "0 3 * * *"},
        "timetable_description": "Cron schedule '0 3 * * *' in UTC",
        "tags": [{"name": "finance"}, {"name": "nightly"}],
        "max_active_tasks": 16, "max_active_runs": 16, "has_task_concurrency_limits": False,
        "has_import_errors": False, "next_dagrun": None, "next_dagrun_data_interval_start": None,
        "next_dagrun_data_interval_end": None, "next_dagrun_create_after": None,
    }
    assert response.headers["etag"]


def test_schedules_on_the_wire(client, fleet):
    assert client.get(url("sync_users")).json()["schedule_interval"] == {
        "__type": "TimeDelta", "days": 0, "seconds": 3600, "microseconds": 0}
    assert client.get(url("report")).json()["schedule_interval"] is None


def test_next_run_dates_have_an_offset(client, fleet):
    set_columns("sync_users", next_dagrun=EPOCH, next_dagrun_create_after=EPOCH)
    dag = client.get(url("sync_users")).json()
    assert dag["next_dagrun"] == dag["next_dagrun_create_after"] == "2026-01-01T00:00:00+00:00"


def test_get_unknown_dag_is_404(client, fleet):
    assert_problem(client.get(url("missing")), 404, "'missing'")
    assert_problem(client.get(url("~")), 404)


def test_inactive_dag_is_still_returned(client, fleet):
    assert client.get(url("retired_export")).json()["is_active"] is False


# Listing


def test_list_shows_active_dags_by_id(client, fleet):
    response = client.get(DAGS)
    assert ids(response) == fleet
    assert response.json()["total_entries"] == 4


def test_list_can_include_inactive_dags(client, fleet):
    assert "retired_export" in ids(client.get(DAGS, params={"only_active": "false"}))
    assert client.get(DAGS, params={"only_active": "false"}).json()["total_entries"] == 5


@pytest.mark.parametrize("paused, expected", [
    ("true", ["Export_Invoices", "report"]), ("false", ["export_orders", "sync_users"])])
def test_list_filters_by_paused(client, fleet, paused, expected):
    assert ids(client.get(DAGS, params={"paused": paused})) == expected


def test_list_filters_by_any_of_the_tags(client, fleet):
    assert ids(client.get(DAGS, params={"tags": "nightly"})) == ["export_orders"]
    both = client.get(DAGS, params=[("tags", "crm"), ("tags", "nightly")])
    assert ids(both) == ["export_orders", "sync_users"]
    assert both.json()["total_entries"] == 2
    finance = client.get(DAGS, params={"tags": "finance", "only_active": "false"})
    assert ids(finance) == ["Export_Invoices", "export_orders", "retired_export"]
    assert ids(client.get(DAGS, params={"tags": "unknown"})) == []


@pytest.mark.parametrize("pattern, expected", [
    ("EXPORT", ["Export_Invoices", "export_orders"]),
    ("t_o", ["export_orders"]),
    ("_", ["Export_Invoices", "export_orders", "sync_users"]),
    ("%", []),
    ("~", ["Export_Invoices", "export_orders", "report", "sync_users"]),
])
def test_list_filters_by_a_literal_case_insensitive_id_pattern(client, fleet, pattern,
                                                                expected):
    assert ids(client.get(DAGS, params={"dag_id_pattern": pattern})) == expected


def test_underscore_in_the_pattern_is_not_a_wildcard(client, migrated):
    add_dag(sample_dag("a_b"))
    add_dag(sample_dag("axb"))
    assert ids(client.get(DAGS, params={"dag_id_pattern": "a_b"})) == ["a_b"]


def test_list_filters_combine(client, fleet):
    response = client.get(DAGS, params={"tags": "finance", "paused": "false",
                                        "dag_id_pattern": "export"})
    assert ids(response) == ["export_orders"]
    inactive_too = client.get(DAGS, params={"tags": "finance", "paused": "false",
                                            "dag_id_pattern": "export", "only_active": "false"})
    assert ids(inactive_too) == ["export_orders", "retired_export"]


@pytest.mark.parametrize("order_by, expected", [
    ("dag_id", ["Export_Invoices", "export_orders", "report", "sync_users"]),
    ("-dag_id", ["sync_users", "report", "export_orders", "Export_Invoices"]),
    ("dag_display_name", ["Export_Invoices", "export_orders", "report", "sync_users"]),
    ("-dag_display_name", ["sync_users", "report", "export_orders", "Export_Invoices"]),
    # Ties are broken by dag_id, in the same direction.
    ("is_paused", ["export_orders", "sync_users", "Export_Invoices", "report"]),
    ("-is_paused", ["report", "Export_Invoices", "sync_users", "export_orders"]),
    # A missing next run sorts last ascending and first descending.
    ("next_dagrun", ["sync_users", "export_orders", "Export_Invoices", "report"]),
    ("-next_dagrun", ["report", "Export_Invoices", "export_orders", "sync_users"]),
    ("last_parsed_time", ["report", "sync_users", "export_orders", "Export_Invoices"]),
    ("-last_parsed_time", ["Export_Invoices", "export_orders", "sync_users", "report"]),
])
def test_list_orders_by_each_allowed_field(client, fleet, order_by, expected):
    set_columns("sync_users", next_dagrun=EPOCH)
    set_columns("export_orders", next_dagrun=EPOCH + timedelta(days=1))
    for offset, dag_id in enumerate(["report", "sync_users", "export_orders",
                                      "Export_Invoices"]):
        set_columns(dag_id, last_parsed_time=EPOCH + timedelta(minutes=offset))
    assert ids(client.get(DAGS, params={"order_by": order_by})) == expected


def test_list_rejects_an_unknown_order_field(client, fleet):
    assert_problem(client.get(DAGS, params={"order_by": "fileloc"}), 400, "order_by")


def test_list_pages(client, fleet):
    page = client.get(DAGS, params={"limit": 2, "offset": 1})
    assert ids(page) == ["export_orders", "report"]
    assert page.json()["total_entries"] == 4
    assert "offset=3" in page.headers["link"] and "offset=0" in page.headers["link"]


def test_list_costs_the_same_queries_whatever_the_number_of_dags(client, migrated):
    add_dag(sample_dag("first", tags=("a", "b")))
    with queries.statements() as few:
        assert len(ids(client.get(DAGS))) == 1
    for n in range(6):
        add_dag(sample_dag(f"more_{n}", tags=("a", f"t{n}")))
    with queries.statements() as many:
        assert len(ids(client.get(DAGS, params={"tags": "a"}))) == 7
    assert len(many) == len(few)


# Fields


def test_fields_limit_the_answer_and_always_keep_the_id(client, fleet):
    response = client.get(DAGS, params={"fields": "is_paused,tags"})
    assert response.json()["dags"][0] == {"dag_id": "Export_Invoices", "is_paused": True,
                                          "tags": [{"name": "finance"}]}
    single = client.get(url("report"), params={"fields": "owners"})
    assert single.json() == {"dag_id": "report", "owners": ["data-team"]}


def test_fields_of_a_single_dag_have_their_own_etag(client, fleet):
    whole = client.get(url("report")).headers["etag"]
    part = client.get(url("report"), params={"fields": "is_paused"}).headers["etag"]
    assert part != whole
    cached = client.get(url("report"), params={"fields": "is_paused"},
                        headers={"If-None-Match": part})
    assert cached.status_code == 304


@pytest.mark.parametrize("path", ["", "/report", "/report/details"])
def test_unknown_field_is_400_naming_it(client, fleet, path):
    assert_problem(client.get(DAGS + path, params={"fields": "is_paused,colour"}), 400,
                   "colour")


# ETags and pausing one DAG


def test_if_none_match_gives_304_until_the_dag_changes(client, fleet):
    etag = client.get(url("report")).headers["etag"]
    cached = client.get(url("report"), headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    client.patch(url("report"), json={"is_paused": False})
    changed = client.get(url("report"), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


@pytest.mark.parametrize("mask", [None, "is_paused"])
def test_patch_pauses_and_resumes(client, fleet, mask):
    params = {"update_mask": mask} if mask else None
    response = client.patch(url("export_orders"), params=params, json={"is_paused": True})
    assert response.status_code == 200
    assert response.json()["is_paused"] is True
    fetched = client.get(url("export_orders"))
    assert fetched.json() == response.json()
    assert fetched.headers["etag"] == response.headers["etag"]
    resumed = client.patch(url("export_orders"), json={"is_paused": False})
    assert resumed.json()["is_paused"] is False


def test_patch_with_a_stale_if_match_is_412(client, fleet):
    etag = client.get(url("report")).headers["etag"]
    assert_problem(client.patch(url("report"), json={"is_paused": False},
                                headers={"If-Match": '"0000"'}), 412)
    assert client.get(url("report")).json()["is_paused"] is True
    response = client.patch(url("report"), json={"is_paused": False}, headers={"If-Match": etag})
    assert response.status_code == 200


@pytest.mark.parametrize("body", [{"is_paused": True, "description": "x"}, {"dag_id": "x"},
                                  {"is_paused": "yes"}])
def test_patch_rejects_other_fields_and_wrong_types(client, fleet, body):
    response = client.patch(url("export_orders"), json=body)
    assert response.status_code in (400, 422)
    assert_problem(response, response.status_code)
    assert client.get(url("export_orders")).json()["is_paused"] is False


def test_patch_with_an_unknown_update_mask_field_is_400(client, fleet):
    assert_problem(client.patch(url("report"), params={"update_mask": "description"},
                                json={"is_paused": False}), 400, "update_mask")


def test_patch_unknown_dag_is_404(client, fleet):
    assert_problem(client.patch(url("missing"), json={"is_paused": True}), 404, "'missing'")


# Pausing a page of DAGs


def test_patch_dags_changes_only_the_chosen_page(client, fleet):
    response = client.patch(DAGS, params={"dag_id_pattern": "~", "limit": 2, "offset": 1},
                            json={"is_paused": True})
    assert response.status_code == 200
    body = response.json()
    assert [d["dag_id"] for d in body["dags"]] == ["export_orders", "report"]
    assert all(d["is_paused"] for d in body["dags"])
    assert body["total_entries"] == 4
    assert "link" not in response.headers
    paused = ids(client.get(DAGS, params={"paused": "true", "only_active": "false"}))
    assert paused == ["Export_Invoices", "export_orders", "report"]
    assert client.get(url("export_orders")).json() == body["dags"][0]


def test_patch_dags_selects_by_pattern_tags_and_activity(client, fleet):
    response = client.patch(DAGS, params={"dag_id_pattern": "export", "tags": "finance"},
                            json={"is_paused": False})
    assert [d["dag_id"] for d in response.json()["dags"]] == ["Export_Invoices",
                                                              "export_orders"]
    assert ids(client.get(DAGS, params={"paused": "true"})) == ["report"]
    everything = client.patch(DAGS, params={"dag_id_pattern": "~", "only_active": "false"},
                              json={"is_paused": True})
    assert everything.json()["total_entries"] == 5
    assert client.get(url("retired_export")).json()["is_paused"] is True


def test_patch_dags_matching_nothing_changes_nothing(client, fleet):
    response = client.patch(DAGS, params={"dag_id_pattern": "nothing"}, json={"is_paused": True})
    assert response.json() == {"dags": [], "total_entries": 0}


def test_patch_dags_needs_a_pattern(client, fleet):
    assert_problem(client.patch(DAGS, json={"is_paused": True}), 400, "dag_id_pattern")
    assert ids(client.get(DAGS, params={"paused": "true"})) == ["Export_Invoices", "report"]


def test_patch_dags_limit_above_the_maximum_is_400(client, fleet):
    response = client.patch(DAGS, params={"dag_id_pattern": "~", "limit": 101},
                            json={"is_paused": True})
    assert_problem(response, 400, "'limit'", "maximum of 100")


# Deleting


@pytest.mark.parametrize("state", ["queued", "running", "restarting", "deferred"])
def test_delete_is_409_while_a_task_instance_is_active(client, migrated, state):
    dag = sample_dag("busy")
    add_dag(dag)
    add_run(dag, "run_1", state="running", states={"extract": state})
    assert_problem(client.delete(url("busy")), 409, "'busy'")
    assert client.get(url("busy")).status_code == 200
    assert count(TaskInstance, dag_id="busy") == 4


def test_delete_removes_the_dag_and_everything_it_owns(client, migrated):
    dag, neighbour = sample_dag("doomed"), sample_dag("neighbour")
    add_dag(dag)
    add_dag(neighbour)
    for owner in (dag, neighbour):
        add_run(owner, "run_1", state="success", states=dict.fromkeys(owner.tasks, "success"))
        add_xcom(owner.dag_id, "run_1", "extract", "return_value", [1, 2, 3])
    with session() as sess:
        sess.add(DagWarning(dag_id="doomed", warning_type="non-existent pool", message="m"))
    response = client.delete(url("doomed"))
    assert response.status_code == 204 and response.content == b""
    remaining = {Dag: 1, DagTag: 1, SerializedDag: 1, DagWarning: 0, DagRun: 1, TaskInstance: 4,
                 XCom: 1}
    for model, left in remaining.items():
        assert count(model, dag_id="doomed") == 0, model.__name__
        assert count(model, dag_id="neighbour") == left, model.__name__
    assert count(DagCode, fileloc="/dags/doomed.py") == 0
    assert count(DagCode, fileloc="/dags/neighbour.py") == 1
    assert_problem(client.get(url("doomed")), 404)
    assert_problem(client.delete(url("doomed")), 404)


def test_delete_keeps_the_source_while_another_dag_shares_the_file(client, migrated):
    first, second = sample_dag("first"), sample_dag("second")
    second.fileloc = first.fileloc
    add_dag(first)
    add_dag(second)
    token = client.get(url("first")).json()["file_token"]
    assert client.delete(url("first")).status_code == 204
    assert client.get(f"{API}/dagSources/{token}").status_code == 200
    assert client.delete(url("second")).status_code == 204
    assert_problem(client.get(f"{API}/dagSources/{token}"), 404)


def test_delete_with_a_stale_if_match_is_412(client, fleet):
    assert_problem(client.delete(url("report"), headers={"If-Match": '"0000"'}), 412)
    etag = client.get(url("report")).headers["etag"]
    assert client.delete(url("report"), headers={"If-Match": etag}).status_code == 204


# Details


def detailed_dag() -> DAG:
    with DAG("detailed", schedule="@daily", start_date=EPOCH, end_date=EPOCH + timedelta(days=30),
             catchup=True, doc_md="# Detailed\nAll of it.", tags=["x"], owner="ops",
             dagrun_timeout=timedelta(hours=2, microseconds=5), is_paused_upon_creation=True,
             max_active_tasks=4, max_active_runs=1,
             params={"region": "eu",
                     "rows": Param(type="integer", description="How many")}) as dag:
        @task(retries=3, retry_delay=timedelta(days=1, seconds=30),
              execution_timeout=timedelta(minutes=10), priority_weight=5, pool="warehouse",
              pool_slots=2, queue="io", owner="alice", doc_md="Pulls.")
        def pull():
            return 1

        pull() >> ShellTask("push", "echo push", trigger_rule="all_done", owner="bob")
    dag.fileloc = "/dags/detailed.py"
    return dag


def test_details_add_the_settings_from_the_parsed_structure(client, migrated):
    add_dag(detailed_dag())
    response = client.get(url("detailed", "details"))
    assert response.status_code == 200
    details = response.json()
    dag = client.get(url("detailed")).json()
    assert {k: details[k] for k in dag} == dag
    assert details.pop("last_parsed").endswith("+00:00")
    assert {k: v for k, v in details.items() if k not in dag} == {
        "catchup": True, "start_date": "2026-01-01T00:00:00+00:00",
        "end_date": "2026-01-31T00:00:00+00:00", "doc_md": "# Detailed\nAll of it.",
        "dataset_expression": None,
        "params": {"region": {"value": "eu", "description": None, "schema": {}},
                   "rows": {"description": "How many", "schema": {"type": "integer"}}},
        "timezone": "UTC",
        "dag_run_timeout": {"__type": "TimeDelta", "days": 0, "seconds": 7200,
                            "microseconds": 5},
        "is_paused_upon_creation": True, "concurrency": 4, "orientation": "LR",
        "template_search_path": None, "render_template_as_native_obj": False,
    }


def test_details_fields_and_etag(client, migrated):
    add_dag(detailed_dag())
    response = client.get(url("detailed", "details"), params={"fields": "catchup,params"})
    assert set(response.json()) == {"dag_id", "catchup", "params"}
    cached = client.get(url("detailed", "details"), params={"fields": "catchup,params"},
                        headers={"If-None-Match": response.headers["etag"]})
    assert cached.status_code == 304


def test_details_of_an_unknown_or_unparsed_dag_are_404(client, fleet):
    assert_problem(client.get(url("missing", "details")), 404, "'missing'")
    with session() as sess:
        sess.execute(delete(SerializedDag).where(SerializedDag.dag_id == "report"))
    assert_problem(client.get(url("report", "details")), 404, "'report'", "parsed")
    assert_problem(client.get(url("report", "tasks")), 404, "'report'")


# Tasks


def test_tasks_come_from_the_parsed_structure(client, migrated):
    add_dag(detailed_dag())
    response = client.get(url("detailed", "tasks"))
    assert response.status_code == 200
    body = response.json()
    assert body["total_entries"] == 2
    pull, push = body["tasks"]
    assert pull == {
        "class_ref": {"class_name": "PythonTask", "module_path": "windsock.dags.tasks"},
        "task_id": "pull", "task_display_name": "pull", "owner": "alice",
        "start_date": None, "end_date": "2026-01-31T00:00:00+00:00",
        "trigger_rule": "all_success", "extra_links": [], "depends_on_past": False,
        "is_mapped": False, "wait_for_downstream": False, "retries": 3, "queue": "io",
        "pool": "warehouse", "pool_slots": 2,
        "execution_timeout": {"__type": "TimeDelta", "days": 0, "seconds": 600,
                              "microseconds": 0},
        "retry_delay": {"__type": "TimeDelta", "days": 1, "seconds": 30, "microseconds": 0},
        "retry_exponential_backoff": False, "priority_weight": 5, "weight_rule": "downstream",
        "ui_color": "#ffefeb", "ui_fgcolor": "#000", "template_fields": [],
        "downstream_task_ids": ["push"], "doc_md": "Pulls.",
    }
    assert push["class_ref"]["class_name"] == "ShellTask"
    assert push["trigger_rule"] == "all_done" and push["execution_timeout"] is None
    assert push["downstream_task_ids"] == []


@pytest.mark.parametrize("order_by, expected", [
    (None, ["extract", "load", "report", "transform"]),
    ("-task_id", ["transform", "report", "load", "extract"]),
    ("task_display_name", ["extract", "load", "report", "transform"]),
    ("-retries", ["load", "transform", "report", "extract"]),
    ("retries", ["extract", "report", "transform", "load"]),
    ("pool", ["extract", "load", "report", "transform"]),
    ("-owner", ["transform", "report", "load", "extract"]),
    ("-priority_weight", ["transform", "report", "load", "extract"]),
])
def test_tasks_are_sorted(client, fleet, order_by, expected):
    params = {"order_by": order_by} if order_by else None
    response = client.get(url("report", "tasks"), params=params)
    assert [t["task_id"] for t in response.json()["tasks"]] == expected


def test_tasks_reject_an_unknown_order_field(client, fleet):
    assert_problem(client.get(url("report", "tasks"), params={"order_by": "class_ref"}), 400)


def test_tasks_of_an_unknown_dag_are_404(client, fleet):
    assert_problem(client.get(url("missing", "tasks")), 404, "'missing'")


def test_get_task(client, fleet):
    response = client.get(url("report", "tasks", "report"))
    assert response.status_code == 200
    listed = {t["task_id"]: t for t in client.get(url("report", "tasks")).json()["tasks"]}
    assert response.json() == listed["report"]
    assert response.json()["ui_color"] == "#f0ede4"
    etag = response.headers["etag"]
    cached = client.get(url("report", "tasks", "report"), headers={"If-None-Match": etag})
    assert cached.status_code == 304


def test_get_unknown_task_is_404(client, fleet):
    assert_problem(client.get(url("report", "tasks", "missing")), 404, "'missing'", "'report'")
    assert_problem(client.get(url("missing", "tasks", "extract")), 404, "'missing'")


# Source files and parse requests


@pytest.fixture
def token(client, migrated) -> str:
    add_dag(sample_dag("sourced"), source="print('hello')\n")
    return client.get(url("sourced")).json()["file_token"]


@pytest.mark.parametrize("accept", [None, "application/json", "*/*",
                                    "text/plain;q=0.5, application/json"])
def test_source_as_json(client, token, accept):
    headers = {"Accept": accept} if accept else {}
    response = client.get(f"{API}/dagSources/{token}", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"content": "print('hello')\n"}


def test_source_as_text(client, token):
    response = client.get(f"{API}/dagSources/{token}", headers={"Accept": "text/plain"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "print('hello')\n"


def test_source_in_another_format_is_406(client, token):
    response = client.get(f"{API}/dagSources/{token}", headers={"Accept": "text/html"})
    assert_problem(response, 406, "application/json", "text/plain")


def test_source_of_an_unknown_file_is_404(client, token):
    assert_problem(client.get(f"{API}/dagSources/{'0' * 64}"), 404)


def test_reparse_queues_the_file(client, token):
    response = client.put(f"{API}/parseDagFile/{token}")
    assert response.status_code == 201
    assert response.content == b""
    with session() as sess:
        assert sess.scalars(select(DagParsingRequest.fileloc)).all() == ["/dags/sourced.py"]


def test_reparse_of_an_unknown_file_is_404(client, token):
    assert_problem(client.put(f"{API}/parseDagFile/{'0' * 64}"), 404)
    assert count(DagParsingRequest) == 0
