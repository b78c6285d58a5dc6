"""DagProcessor passes over a real DAGs folder, with real child processes and the real database."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tests.dags.conftest import shell_dags, write
from windsock.dags import processor as processor_module
from windsock.dags.store import file_token
from windsock.db.engine import session
from windsock.db.models import Dag, DagCode, DagWarning, ImportError, Pool, SerializedDag

GOOD = """
from datetime import datetime, timedelta
from windsock.dags.dag import DAG
from windsock.dags.tasks import ShellTask, task

print("user output must not break the loader's JSON")

with DAG("daily_report", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False,
         tags=["reports", "finance"], owner="ann", description="The daily report.") as daily:
    @task
    def extract():
        return 1

    @task
    def summarize(value):
        return value

    summarize(extract()) >> ShellTask("publish", "echo done")

with DAG("by_hand", is_paused_upon_creation=True) as by_hand:
    ShellTask("only", "echo only")
"""


def dag(dag_id: str) -> Dag | None:
    with session() as sess:
        return sess.scalar(
            select(Dag).where(Dag.dag_id == dag_id).options(selectinload(Dag.tags)))


def rows(model) -> list:
    with session() as sess:
        return list(sess.scalars(select(model)))


def serialized(dag_id: str) -> dict:
    with session() as sess:
        return json.loads(sess.get(SerializedDag, dag_id).data)


def test_a_good_file_is_stored_with_its_tags_tasks_code_and_next_run(dags_folder, processor,
                                                                     monkeypatch):
    monkeypatch.setenv("WINDSOCK__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False")
    path = write(dags_folder, "reports/good.py", GOOD)

    summary = processor.run_pass()

    assert (summary.files_seen, summary.files_parsed, summary.dags_written) == (1, 1, 2)
    assert summary.import_errors == 0 and list(summary.file_durations) == [path]
    daily = dag("daily_report")
    assert daily.fileloc == path and daily.file_token == file_token(path)
    assert len(daily.file_token) == 64
    assert (daily.owners, daily.description, daily.is_active) == ("ann", "The daily report.", True)
    assert json.loads(daily.schedule) == {"__type": "CronExpression", "value": "@daily"}
    assert [tag.name for tag in daily.tags] == ["finance", "reports"]
    assert daily.is_paused is False  # per config
    assert dag("by_hand").is_paused is True  # the DAG's own choice wins
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    assert daily.next_dagrun == daily.next_dagrun_data_interval_start == today - timedelta(days=1)
    assert daily.next_dagrun_data_interval_end == daily.next_dagrun_create_after == today
    assert dag("by_hand").next_dagrun is None and dag("by_hand").schedule is None

    tasks = {t["task_id"]: t for t in serialized("daily_report")["tasks"]}
    assert tasks["summarize"]["upstream_task_ids"] == ["extract"]
    assert tasks["publish"]["upstream_task_ids"] == ["summarize"]
    assert tasks["publish"]["command"] == "echo done"
    [code] = rows(DagCode)
    assert (code.file_token, code.fileloc) == (file_token(path), path)
    assert code.source_code == Path(path).read_text()
    assert rows(ImportError) == []

    monkeypatch.setenv("WINDSOCK__CORE__DAGS_ARE_PAUSED_AT_CREATION", "True")
    processor.run_pass(force=True)
    assert dag("daily_report").is_paused is False  # an existing DAG keeps its pause state


def test_a_syntax_error_is_an_import_error_until_the_file_is_fixed(dags_folder, processor):
    good = shell_dags(flaky=["first"])
    path = write(dags_folder, "flaky.py", good)
    processor.run_pass()
    Path(path).write_text(good + "x = (\n")

    processor.run_pass()
    [error] = rows(ImportError)
    assert error.filename == path
    broken_line = good.count("\n") + 1
    assert f'File "{path}", line {broken_line}' in error.stack_trace
    assert "SyntaxError" in error.stack_trace
    assert dag("flaky").has_import_errors and dag("flaky").is_active
    assert [t["task_id"] for t in serialized("flaky")["tasks"]] == ["first"]  # last good version

    processor.run_pass()
    [again] = rows(ImportError)  # replaced, not added
    assert again.timestamp > error.timestamp

    Path(path).write_text(shell_dags(flaky=["first", "second"]))
    processor.run_pass()
    assert rows(ImportError) == []
    assert not dag("flaky").has_import_errors
    assert [t["task_id"] for t in serialized("flaky")["tasks"]] == ["first", "second"]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_file_that_takes_too_long_is_killed_and_the_pass_goes_on(dags_folder, processor,
                                                                   monkeypatch, tmp_path):
    monkeypatch.setenv("WINDSOCK__DAG_PROCESSOR__FILE_PARSING_TIMEOUT", "2")
    pids = tmp_path / "pids"
    slow = write(dags_folder, "slow.py", f"""
        import os, subprocess, time
        helper = subprocess.Popen(["sleep", "120"])
        open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{helper.pid}}")
        time.sleep(120)
    """)
    write(dags_folder, "quick.py", shell_dags(quick=["only"]))

    summary = processor.run_pass()

    assert summary.duration < 30 and summary.import_errors == 1 and summary.dags_written == 1
    [error] = rows(ImportError)
    assert error.filename == slow
    assert error.stack_trace.startswith(f"Timed out after 2 s while importing {slow}")
    assert dag("quick").is_active
    assert not any(_alive(int(pid)) for pid in pids.read_text().split())


def test_a_file_that_ends_its_process_is_an_import_error_with_its_output(dags_folder,
                                                                         processor):
    path = write(dags_folder, "quits.py", """
        import os, sys
        print("about to leave", flush=True)
        os._exit(3)
    """)
    processor.run_pass()
    [error] = rows(ImportError)
    assert error.filename == path
    assert error.stack_trace.startswith(f"Importing {path} ended with exit code 3 and no result.")
    assert error.stack_trace.endswith("about to leave\n")


def test_a_file_that_leaves_a_thread_running_loads(dags_folder, processor, monkeypatch):
    monkeypatch.setenv("WINDSOCK__DAG_PROCESSOR__FILE_PARSING_TIMEOUT", "5")
    write(dags_folder, "threads.py", "import threading, time\n"
          "threading.Thread(target=time.sleep, args=(60,)).start()\n"
          + shell_dags(threaded=["only"]))
    summary = processor.run_pass()
    assert summary.import_errors == 0 and summary.dags_written == 1


def test_a_file_is_imported_in_the_processors_environment_as_it_is_now(dags_folder, processor,
                                                                        monkeypatch):
    write(dags_folder, "first.py", shell_dags(first=["only"]))
    processor.run_pass()  # the fork server runs by now, with the environment of its start
    monkeypatch.setenv("WINDSOCK_TEST_DAG_ID", "named_by_the_environment")
    write(dags_folder, "named.py", """
        import os
        from windsock import DAG, ShellTask
        with DAG(os.environ["WINDSOCK_TEST_DAG_ID"]) as dag:
            ShellTask("only", "true")
    """)
    assert processor.run_pass().import_errors == 0
    assert dag("named_by_the_environment").is_active


def test_a_removed_file_deactivates_its_dags_and_drops_its_code_and_errors(dags_folder,
                                                                            processor):
    gone = write(dags_folder, "gone.py", shell_dags(gone=["only"]))
    broken = write(dags_folder, "broken.py", "import no_such_module\n")
    processor.run_pass()
    assert len(rows(ImportError)) == 1 and len(rows(DagCode)) == 1

    os.remove(gone)
    os.remove(broken)
    summary = processor.run_pass()

    assert summary.files_seen == 0
    assert dag("gone").is_active is False
    assert rows(DagCode) == [] and rows(ImportError) == []


def test_only_changed_files_are_imported_again(dags_folder, processor):
    edited = write(dags_folder, "edited.py",
                   shell_dags(kept=["one"], dropped=["one"]))
    write(dags_folder, "untouched.py", shell_dags(untouched=["one"]))
    assert processor.run_pass().files_parsed == 2

    Path(edited).write_text(shell_dags(kept=["one", "two"]))
    summary = processor.run_pass()

    assert (summary.files_seen, summary.files_parsed, summary.files_skipped) == (2, 1, 1)
    assert list(summary.file_durations) == [edited]
    assert "1 unchanged skipped" in str(summary)
    assert [t["task_id"] for t in serialized("kept")["tasks"]] == ["one", "two"]
    assert dag("dropped").is_active is False and dag("untouched").is_active
    assert processor.run_pass().files_parsed == 0


def test_a_dag_id_belongs_to_the_first_file_that_defined_it(dags_folder, processor):
    first = write(dags_folder, "first.py", shell_dags(shared=["one"]))
    processor.run_pass()
    second = write(dags_folder, "second.py",
                   shell_dags(shared=["two"], other=["x"]))

    processor.run_pass()

    [error] = rows(ImportError)
    assert error.filename == second
    assert "Duplicate DAG id 'shared'" in error.stack_trace and first in error.stack_trace
    assert dag("shared").fileloc == first and dag("other") is None

    os.remove(first)  # once the first file is gone, the second one takes the DAG over
    processor.run_pass()
    assert rows(ImportError) == []
    assert dag("shared").fileloc == second and dag("other").is_active


def test_a_task_naming_a_missing_pool_gives_a_dag_warning(dags_folder, processor):
    write(dags_folder, "pools.py", """
        from windsock.dags.dag import DAG
        from windsock.dags.tasks import ShellTask

        with DAG("pooled") as dag:
            ShellTask("load", "echo load", pool="warehouse")
            ShellTask("fine", "echo fine")
    """)
    processor.run_pass()
    [warning] = rows(DagWarning)
    assert (warning.dag_id, warning.warning_type) == ("pooled", "non-existent pool")
    assert "'load'" in warning.message and "'warehouse'" in warning.message
    assert "'fine'" not in warning.message

    with session() as sess:
        sess.add(Pool(pool="warehouse", slots=4))
    processor.run_pass(force=True)
    assert rows(DagWarning) == []


def test_the_examples_load_cleanly(dags_folder, processor, monkeypatch):
    monkeypatch.setenv("WINDSOCK__CORE__LOAD_EXAMPLES", "True")

    summary = processor.run_pass()

    assert rows(ImportError) == []
    assert summary.import_errors == 0 and summary.files_parsed == 3
    assert {d.dag_id for d in rows(Dag)} == {
        "example_xcom_chain", "example_shell", "example_branch"}
    assert all(d.fileloc.startswith(str(processor_module.EXAMPLES_FOLDER)) for d in rows(Dag))
    branch = {t["task_id"]: t for t in serialized("example_branch")["tasks"]}
    assert branch["choose_path"]["class_name"] == "BranchTask"
    assert branch["join"]["trigger_rule"] == "none_failed_min_one_success"
    assert branch["cleanup"]["trigger_rule"] == "all_done"
    assert serialized("example_branch")["params"]["mode"]["schema"]["enum"] == ["fast", "thorough"]


def test_a_parse_request_is_honoured_whatever_the_file_state(dags_folder, processor):
    path = write(dags_folder, "asked.py", shell_dags(asked=["one"]))
    processor.run_pass()
    assert processor.parse_requested() is None
    assert processor.run_pass().files_parsed == 0

    with session() as sess:
        assert processor_module.request_parse(sess, file_token(path)) is True
        assert processor_module.request_parse(sess, "0" * 64) is False
    summary = processor.run_pass()
    assert list(summary.file_durations) == [path]

    with session() as sess:
        processor_module.request_parse(sess, file_token(path))
    assert list(processor.parse_requested().file_durations) == [path]
    assert processor.parse_requested() is None
