"""The scheduler's rounds, driven in-process one at a time against the real database: scheduled
runs, starting queued runs, trigger rules, queueing within the limits, finishing runs."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import delete

from tests.scheduler.rounds import (add_scheduled_dag, finish, get_ti, heartbeat_of, new_job,
                                    now, one_round, run_states, scheduler_events, start,
                                    ti_states)
from tests.support.seed import add_dag, add_run
from windsock import DAG, ShellTask
from windsock.db.engine import session
from windsock.db.models import Dag, DagRun, Job, Pool
from windsock.scheduler.executors import TaskKey


@pytest.fixture
def job(migrated) -> int:
    return new_job()


def midnight(days_ago: int) -> datetime:
    today = datetime.combine(now().date(), time(), tzinfo=timezone.utc)
    return today - timedelta(days=days_ago)


def daily_dag(dag_id: str, days_ago: int, **kwargs) -> DAG:
    with DAG(dag_id, schedule="@daily", start_date=midnight(days_ago), **kwargs) as dag:
        ShellTask("only", "true")
    dag.fileloc = f"/dags/{dag_id}.py"
    return dag


def flat_dag(dag_id: str, count: int, **task_kwargs) -> DAG:
    """`count` independent shell tasks t0, t1, ..."""
    with DAG(dag_id, max_active_tasks=task_kwargs.pop("max_active_tasks", 16)) as dag:
        for number in range(count):
            ShellTask(f"t{number}", "true", **task_kwargs)
    dag.fileloc = f"/dags/{dag_id}.py"
    return dag


def running_run(dag: DAG, run_id: str = "r1", days_ago: int = 0) -> str:
    add_run(dag, run_id, state="running", start=now(), logical_date=midnight(days_ago))
    return run_id


def keys(dag_id: str, run_id: str, *task_ids: str) -> list[TaskKey]:
    return sorted(TaskKey(dag_id, run_id, task_id) for task_id in task_ids)


def scheduled_id(days_ago: int) -> str:
    return f"scheduled__{midnight(days_ago).isoformat()}"


# --- scheduled runs --------------------------------------------------------------------------

def test_with_catchup_a_run_is_created_for_every_interval_that_has_ended(job):
    add_scheduled_dag(daily_dag("daily", days_ago=3, catchup=True))

    one_round(job)

    assert run_states("daily") == {scheduled_id(3): "running", scheduled_id(2): "running",
                                   scheduled_id(1): "running"}
    with session() as sess:
        run = sess.query(DagRun).filter_by(run_id=scheduled_id(2)).one()
        assert (run.run_type, run.logical_date, run.external_trigger) == (
            "scheduled", midnight(2), False)
        assert (run.data_interval_start, run.data_interval_end) == (midnight(2), midnight(1))
        dag = sess.get(Dag, "daily")
        assert (dag.next_dagrun, dag.next_dagrun_create_after) == (midnight(0), midnight(-1))
    one_round(job)
    assert len(run_states("daily")) == 3


def test_without_catchup_only_the_latest_interval_gets_a_run(job):
    add_scheduled_dag(daily_dag("daily", days_ago=5, catchup=False))

    one_round(job)

    assert run_states("daily") == {scheduled_id(1): "running"}


@pytest.mark.parametrize(("run_id", "days_ago"), [
    ("manual_one", 2),  # a run holds the interval's logical date
    (scheduled_id(2), 10),  # a run at another date holds the interval's run id
])
def test_an_interval_whose_date_or_run_id_is_taken_is_skipped(job, run_id, days_ago):
    dag = daily_dag("daily", days_ago=3, catchup=True)
    add_scheduled_dag(dag)
    add_run(dag, run_id, state="success", logical_date=midnight(days_ago))

    one_round(job)

    assert run_states("daily") == {run_id: "success", scheduled_id(3): "running",
                                   scheduled_id(1): "running"}
    assert sorted(run for event, run, _ in scheduler_events("daily")
                  if event == "scheduler.run_created") == [scheduled_id(3), scheduled_id(1)]


def test_scheduled_runs_wait_for_max_active_runs(job):
    add_scheduled_dag(daily_dag("daily", days_ago=5, catchup=True, max_active_runs=2))

    one_round(job)
    assert run_states("daily") == {scheduled_id(5): "running", scheduled_id(4): "running"}
    one_round(job)  # the only task of each is queued now
    assert len(run_states("daily")) == 2

    finish("daily", scheduled_id(5), only="success")
    one_round(job)  # finishes that run; the next is created a round later
    one_round(job)
    assert run_states("daily") == {scheduled_id(5): "success", scheduled_id(4): "running",
                                   scheduled_id(3): "running"}


def test_a_paused_dag_gets_no_scheduled_runs_and_its_queued_runs_wait(job):
    dag = daily_dag("daily", days_ago=3, catchup=True)
    add_scheduled_dag(dag)
    with session() as sess:
        sess.get(Dag, "daily").is_paused = True
    add_run(dag, "manual", state="queued", logical_date=now())

    one_round(job)

    assert run_states("daily") == {"manual": "queued"}


def test_queued_runs_start_oldest_first_within_max_active_runs(job):
    dag = daily_dag("daily", days_ago=3, max_active_runs=2)
    add_dag(dag)
    for days_ago in (1, 3, 2):
        add_run(dag, f"manual_{days_ago}", state="queued", logical_date=midnight(days_ago))

    one_round(job)

    assert run_states("daily") == {"manual_3": "running", "manual_2": "running",
                                   "manual_1": "queued"}
    with session() as sess:
        assert sess.query(DagRun).filter_by(run_id="manual_3").one().start_date is not None


# --- trigger rules ---------------------------------------------------------------------------

def rules_dag() -> DAG:
    """a >> b >> c >> cleanup (all_done); a >> alarm (one_failed); a >> hope (none_failed)."""
    with DAG("rules") as dag:
        a, b, c = ShellTask("a", "true"), ShellTask("b", "true"), ShellTask("c", "true")
        a >> b >> c >> ShellTask("cleanup", "true", trigger_rule="all_done")
        a >> ShellTask("alarm", "true", trigger_rule="one_failed")
        a >> ShellTask("hope", "true", trigger_rule="none_failed")
    dag.fileloc = "/dags/rules.py"
    return dag


def test_tasks_whose_upstream_failed_are_upstream_failed_all_the_way_down(job):
    dag = rules_dag()
    add_dag(dag)
    running_run(dag)

    assert one_round(job) == keys("rules", "r1", "a")
    finish("rules", "r1", a="failed")
    queued = one_round(job)

    assert ti_states("rules", "r1") == {
        "a": "failed", "b": "upstream_failed", "c": "upstream_failed", "cleanup": "queued",
        "alarm": "queued", "hope": "upstream_failed"}
    assert queued == keys("rules", "r1", "alarm", "cleanup")
    finish("rules", "r1", cleanup="success", alarm="success")
    one_round(job)
    assert run_states("rules") == {"r1": "failed"}


def test_tasks_whose_upstream_was_skipped_are_skipped_unless_their_rule_allows_it(job):
    dag = rules_dag()
    add_dag(dag)
    running_run(dag)
    finish("rules", "r1", a="skipped")

    assert one_round(job) == keys("rules", "r1", "cleanup", "hope")

    assert ti_states("rules", "r1") == {
        "a": "skipped", "b": "skipped", "c": "skipped", "cleanup": "queued",
        "alarm": "skipped", "hope": "queued"}
    finish("rules", "r1", cleanup="success", hope="success")
    one_round(job)
    assert run_states("rules") == {"r1": "success"}


def test_the_branch_example_joins_after_the_path_taken(job):
    from windsock.dags.loader import load_file
    from windsock.dags.processor import EXAMPLES_FOLDER

    [dag] = load_file(str(EXAMPLES_FOLDER / "example_branch.py"))
    add_dag(dag)
    running_run(dag)
    branch = "example_branch"

    assert one_round(job) == keys(branch, "r1", "choose_path")
    # The branch task's runner skips the path not taken when it finishes.
    finish(branch, "r1", choose_path="success", thorough_path="skipped")
    assert one_round(job) == keys(branch, "r1", "fast_path")
    finish(branch, "r1", fast_path="success")
    assert one_round(job) == keys(branch, "r1", "join")
    finish(branch, "r1", join="success")
    assert one_round(job) == keys(branch, "r1", "cleanup")
    finish(branch, "r1", cleanup="success")
    one_round(job)

    assert run_states(branch) == {"r1": "success"}
    assert ti_states(branch, "r1")["thorough_path"] == "skipped"


def test_when_the_path_taken_fails_the_join_fails_and_cleanup_still_runs(job):
    from windsock.dags.loader import load_file
    from windsock.dags.processor import EXAMPLES_FOLDER

    [dag] = load_file(str(EXAMPLES_FOLDER / "example_branch.py"))
    add_dag(dag)
    running_run(dag)
    finish("example_branch", "r1", choose_path="success", thorough_path="skipped",
           fast_path="failed")

    assert one_round(job) == keys("example_branch", "r1", "cleanup")

    assert ti_states("example_branch", "r1")["join"] == "upstream_failed"


def test_task_instances_of_tasks_no_longer_in_the_dag_are_removed(job):
    add_dag(flat_dag("shrinking", 1))
    add_run(flat_dag("shrinking", 2), "r1", state="running", start=now())  # before t1 went

    assert one_round(job) == keys("shrinking", "r1", "t0")
    assert ti_states("shrinking", "r1") == {"t0": "queued", "t1": "removed"}


def test_tasks_added_to_the_dag_get_instances_in_running_runs(job):
    add_dag(flat_dag("growing", 2))
    add_run(flat_dag("growing", 1), "r1", state="running", start=now())  # before t1 came
    assert ti_states("growing", "r1") == {"t0": None}

    assert one_round(job) == keys("growing", "r1", "t0", "t1")
    assert ("scheduler.tasks_added", "r1", None) in scheduler_events("growing")


def test_a_run_past_its_dagrun_timeout_fails_and_its_unfinished_tasks_are_skipped(job):
    dag = flat_dag("slow", 3, max_active_tasks=2)
    dag.dagrun_timeout = timedelta(minutes=5)
    add_dag(dag)
    add_run(dag, "late", state="running", start=now() - timedelta(minutes=6),
            logical_date=midnight(1))
    add_run(dag, "in_time", state="running", start=now() - timedelta(minutes=4))
    finish("slow", "late", t0="success")
    start("slow", "late", "t1")

    one_round(job)
    assert run_states("slow") == {"late": "failed", "in_time": "running"}
    assert ti_states("slow", "late") == {"t0": "success", "t1": "skipped", "t2": "skipped"}
    assert ("scheduler.run_timed_out", "late", None) in scheduler_events("slow")


# --- queueing within the limits --------------------------------------------------------------

def test_a_one_slot_pool_runs_one_task_instance_at_a_time(job):
    with session() as sess:
        sess.add(Pool(pool="single", slots=1))
    dag = flat_dag("pooled", 3, pool="single")
    add_dag(dag)
    running_run(dag)

    assert one_round(job) == keys("pooled", "r1", "t0")
    assert one_round(job) == []  # queued takes the slot
    start("pooled", "r1", "t0")
    assert one_round(job) == []  # so does running
    finish("pooled", "r1", t0="success")
    assert one_round(job) == keys("pooled", "r1", "t1")


def test_a_task_instance_needing_more_slots_than_its_pool_has_is_not_queued(job):
    with session() as sess:
        sess.add(Pool(pool="single", slots=1))
    dag = flat_dag("greedy", 1, pool="single", pool_slots=2)
    add_dag(dag)
    running_run(dag)

    assert one_round(job) == []
    assert ti_states("greedy", "r1") == {"t0": "scheduled"}


def test_parallelism_bounds_the_task_instances_queued_or_running_everywhere(job, monkeypatch):
    monkeypatch.setenv("WINDSOCK__CORE__PARALLELISM", "3")
    busy = flat_dag("busy", 1)
    add_dag(busy)
    add_run(busy, "r1", state="running", start=now(), states={"t0": "running"})
    dag = flat_dag("wide", 5)
    add_dag(dag)
    running_run(dag)

    assert len(one_round(job)) == 2
    assert len(one_round(job)) == 0


def test_the_executors_open_slots_bound_a_round(job):
    dag = flat_dag("wide", 5)
    add_dag(dag)
    running_run(dag)

    assert one_round(job, open_slots=1) == keys("wide", "r1", "t0")
    assert one_round(job, open_slots=0) == []


def test_max_active_tasks_bounds_a_dags_task_instances_over_its_runs(job):
    dag = flat_dag("capped", 3, max_active_tasks=2)
    add_dag(dag)
    running_run(dag, "r1", days_ago=2)
    running_run(dag, "r2", days_ago=1)

    assert one_round(job) == keys("capped", "r1", "t0", "t1")
    finish("capped", "r1", t0="success")
    assert one_round(job) == keys("capped", "r1", "t2")


def test_dags_take_turns_so_that_every_triggered_dag_starts_soon(job):
    for dag_id, days_ago in (("first", 2), ("second", 1)):
        dag = flat_dag(dag_id, 3)
        add_dag(dag)
        running_run(dag, "r1", days_ago=days_ago)

    assert one_round(job, open_slots=1) == keys("first", "r1", "t0")
    # (the older run's DAG has one task instance queued already: the other DAG's turn)
    assert one_round(job, open_slots=1) == keys("second", "r1", "t0")
    assert one_round(job, open_slots=2) == keys("first", "r1", "t1") + keys("second", "r1",
                                                                           "t1")


def test_higher_priority_weight_is_queued_first(job, monkeypatch):
    monkeypatch.setenv("WINDSOCK__CORE__PARALLELISM", "1")
    with DAG("weighted") as dag:
        for task_id, weight in (("low", 1), ("high", 5), ("middle", 3)):
            ShellTask(task_id, "true", priority_weight=weight)
    dag.fileloc = "/dags/weighted.py"
    add_dag(dag)
    running_run(dag)

    assert one_round(job) == keys("weighted", "r1", "high")


def test_a_paused_dags_scheduled_task_instances_are_not_queued(job):
    dag = flat_dag("paused", 1)
    add_dag(dag, paused=True)
    add_run(dag, "r1", state="running", start=now(), states={"t0": "scheduled"})

    assert one_round(job) == []


def test_queueing_records_when_and_by_which_scheduler(job):
    dag = flat_dag("wide", 1)
    add_dag(dag)
    running_run(dag)
    before = now()

    one_round(job)

    ti = get_ti("wide", "r1", "t0")
    assert ti.queued_by_job_id == job and ti.queued_dttm >= before


# --- finishing runs and the event log --------------------------------------------------------

def test_a_run_succeeds_when_every_task_instance_finished_and_none_failed(job):
    dag = flat_dag("pair", 2)
    add_dag(dag)
    running_run(dag)
    one_round(job)
    finish("pair", "r1", t0="success")
    one_round(job)
    assert run_states("pair") == {"r1": "running"}

    finish("pair", "r1", t1="skipped")
    one_round(job)

    assert run_states("pair") == {"r1": "success"}
    with session() as sess:
        assert sess.query(DagRun).one().end_date is not None


def test_a_scheduled_runs_life_is_in_the_event_log(job):
    add_scheduled_dag(daily_dag("daily", days_ago=1, catchup=True))
    run_id = scheduled_id(1)
    one_round(job)
    finish("daily", run_id, only="failed")
    one_round(job)

    assert scheduler_events("daily") == [
        ("scheduler.run_created", run_id, None), ("scheduler.run_running", run_id, None),
        ("scheduler.run_failed", run_id, None)]


def test_every_step_heartbeats(job):
    before = heartbeat_of(job)
    one_round(job)
    assert heartbeat_of(job) > before


def test_a_scheduler_whose_job_row_was_deleted_registers_again(job):
    with session() as sess:
        sess.execute(delete(Job))

    one_round(job)

    with session() as sess:
        assert (sess.get(Job, job).state, sess.get(Job, job).job_type) == ("running", "scheduler")
