"""Dynamic task mapping against the real database and the real scheduler: literal lists expand
when the run is created, return values when the upstream task succeeded (an empty list skips
the task), instances run within max_active_tis_per_dag, each with its own log and return value,
and a downstream task receives all the results in map index order."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select, update

from tests.scheduler.conftest import new_run
from tests.scheduler.rounds import new_job, one_round
from windsock import logs
from windsock.db.engine import session
from windsock.db.models import DagRun, EventLog, SerializedDag, TaskInstance, XCom
from windsock.scheduler.executors import LocalExecutor
from windsock.scheduler.loop import Scheduler

TIMEOUT = 120
DAGS = """
from windsock import DAG, ShellTask, task

with DAG("mapped") as mapped:
    @task
    def files():
        return ["a.csv", "b.csv", "c.csv"]

    @task(max_active_tis_per_dag=2)
    def load(path, table):
        import time
        time.sleep(1)
        return f"{table}:{path}"

    @task
    def total(loaded):
        return loaded

    total(load.partial(table="orders").expand(path=files()))
    ShellTask.partial(task_id="echo").expand(command=["echo one", "echo two"])

with DAG("product") as product:
    @task
    def pair(letter, number):
        return f"{letter}{number}"

    pair.expand(letter=["a", "b"], number=[1, 2, 3])

with DAG("empty") as empty:
    @task
    def nothing():
        return []

    @task
    def each(item):
        return item

    @task
    def after(items):
        return items

    after(each.expand(item=nothing()))

with DAG("not_a_list") as not_a_list:
    @task
    def word():
        return "abc"

    @task
    def letter(character):
        return character

    letter.expand(character=word())
"""


@pytest.fixture
def dags(add_dags, monkeypatch):
    monkeypatch.setenv("WINDSOCK__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False")
    add_dags(DAGS)


def instances(dag_id: str, run_id: str) -> dict[tuple[str, int], TaskInstance]:
    with session() as sess:
        return {(ti.task_id, ti.map_index): ti for ti in sess.scalars(select(TaskInstance).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id))}


def returned(dag_id: str, run_id: str, task_id: str) -> dict[int, object]:
    with session() as sess:
        return {index: json.loads(value) for index, value in sess.execute(
            select(XCom.map_index, XCom.value).where(
                XCom.dag_id == dag_id, XCom.run_id == run_id, XCom.task_id == task_id))}


def run_to_end(dag_id: str, run_id: str) -> str:
    scheduler = Scheduler(LocalExecutor())
    scheduler.start()
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            with session() as sess:
                state = sess.scalar(select(DagRun.state).where(DagRun.dag_id == dag_id,
                                                              DagRun.run_id == run_id))
            if state in ("success", "failed"):
                return state
            assert time.monotonic() < deadline, instances(dag_id, run_id)
            scheduler.run_once()
            time.sleep(0.2)
    finally:
        scheduler.stop()
        scheduler.end()


def test_a_literal_expansion_makes_its_instances_with_the_run(dags):
    run_id = new_run("mapped")
    tis = instances("mapped", run_id)
    assert sorted(tis) == [("echo", 0), ("echo", 1), ("files", -1), ("load", -1),
                           ("total", -1)]
    product_tis = instances("product", new_run("product"))
    assert sorted(product_tis) == [("pair", index) for index in range(6)]


def test_an_expansion_over_a_return_value_waits_for_it_and_keeps_the_task_limit(dags):
    run_id = new_run("mapped")
    job = new_job()
    with session() as sess:
        sess.execute(update(TaskInstance).where(
            TaskInstance.run_id == run_id, TaskInstance.task_id.in_(["files", "echo"]))
            .values(state="success"))
        sess.add(XCom(dag_id="mapped", run_id=run_id, task_id="files", map_index=-1,
                      key="return_value", value=json.dumps(["a", "b", "c"])))
    queued = one_round(job)
    assert [(key.task_id, key.map_index) for key in queued] == [("load", 0), ("load", 1)]
    tis = instances("mapped", run_id)
    assert [tis["load", i].state for i in range(3)] == ["queued", "queued", "scheduled"]
    assert ("load", -1) not in tis
    assert one_round(job) == []  # two of load are queued: its max_active_tis_per_dag
    with session() as sess:
        [event] = sess.scalars(select(EventLog.extra).where(
            EventLog.event == "scheduler.task_expanded", EventLog.run_id == run_id))
    assert json.loads(event) == {"count": 3}


def test_a_return_value_that_is_not_a_list_cannot_be_expanded(dags):
    run_id = new_run("mapped")
    with session() as sess:
        sess.execute(update(TaskInstance).where(
            TaskInstance.run_id == run_id, TaskInstance.task_id == "files")
            .values(state="success"))  # ... but it stored no list to map over
    one_round(new_job())
    tis = instances("mapped", run_id)
    assert (tis["load", -1].state, tis["total", -1].state) == ("upstream_failed",
                                                               "upstream_failed")


def test_mapped_instances_run_and_the_reducer_gets_every_result_in_order(dags):
    run_id = new_run("mapped")
    assert run_to_end("mapped", run_id) == "success"
    assert returned("mapped", run_id, "load") == {0: "orders:a.csv", 1: "orders:b.csv",
                                                   2: "orders:c.csv"}
    assert returned("mapped", run_id, "total") == {
        -1: ["orders:a.csv", "orders:b.csv", "orders:c.csv"]}
    tis = instances("mapped", run_id)
    loads = sorted((tis["load", i].start_date, tis["load", i].end_date) for i in range(3))
    assert loads[2][0] >= min(loads[0][1], loads[1][1])  # never three at once
    for index, word in enumerate(("one", "two")):
        log = logs.log_path("mapped", run_id, "echo", 1, index).read_text()
        assert word in log and f"map_index={index}" in str(logs.log_path(
            "mapped", run_id, "echo", 1, index))


def test_each_combination_of_several_lists_is_one_instance(dags):
    run_id = new_run("product")
    assert run_to_end("product", run_id) == "success"
    assert returned("product", run_id, "pair") == dict(enumerate(
        ["a1", "a2", "a3", "b1", "b2", "b3"]))


def test_an_empty_list_skips_the_mapped_task(dags):
    run_id = new_run("empty")
    assert run_to_end("empty", run_id) == "success"
    tis = instances("empty", run_id)
    assert {key: ti.state for key, ti in tis.items()} == {
        ("nothing", -1): "success", ("each", -1): "skipped", ("after", -1): "skipped"}


def test_a_task_mapped_over_fails_when_it_returns_no_list(dags):
    run_id = new_run("not_a_list")
    assert run_to_end("not_a_list", run_id) == "failed"
    tis = instances("not_a_list", run_id)
    assert (tis["word", -1].state, tis["letter", -1].state) == ("failed", "upstream_failed")
    assert ("letter map over what this task returns, which must be a list, not str"
            in logs.log_path("not_a_list", run_id, "word", 1).read_text())


def test_the_serialized_dag_holds_the_expansion(dags):
    with session() as sess:
        data = json.loads(sess.scalar(select(SerializedDag.data)
                                      .where(SerializedDag.dag_id == "mapped")))
    tasks = {task["task_id"]: task for task in data["tasks"]}
    assert tasks["load"]["expand"] == {"path": {"xcom": "files"}}
    assert tasks["load"]["max_active_tis_per_dag"] == 2
    assert tasks["echo"]["expand"] == {"command": {"values": ["echo one", "echo two"]}}
    assert tasks["echo"]["command"] is None
    assert "expand" not in tasks["total"] and tasks["total"]["upstream_task_ids"] == ["load"]
