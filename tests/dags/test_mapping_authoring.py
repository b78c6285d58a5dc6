"""Mapped tasks in DAG files: `.partial(...).expand(...)` on `@task` functions and shell tasks,
what a DAG file may not do with them (an import error naming the task), and how the API shows
a mapped task."""

from __future__ import annotations

import pytest

from tests.api.helpers import API
from tests.dags.conftest import write
from windsock import DAG, ShellTask, task
from windsock.dags import mapping


@task
def add(x, y=0):
    return x + y


@task
def numbers():
    return [1, 2]


@pytest.mark.parametrize("make, message", [
    (lambda: add.expand(), "needs at least one argument"),
    (lambda: add.expand(x=3), "maps over lists or the return value of an upstream task, and "
                              "x= is a int"),
    (lambda: add.expand(x={"a": 1}), "x= is a dict"),
    (lambda: add.expand(x=[object()]), "must be JSON values"),
    (lambda: add.expand(z=[1]), r"add\(\) has no argument 'z'"),
    (lambda: add.partial(x=1).expand(x=[1]), "x= is both fixed by partial"),
    (lambda: add.expand(x=list(range(1025))), "1025 task instances, more than"),
    (lambda: add.expand(x=list(range(40)), y=list(range(40))), "1600 task instances"),
    (lambda: ShellTask.partial(task_id="s").expand(cwd=["/"]), "not cwd"),
    (lambda: ShellTask.partial(task_id="s", command="echo").expand(command=["a"]),
     "command= is both fixed and mapped"),
    (lambda: ShellTask("s", "echo", max_active_tis_per_dag=0), "max_active_tis_per_dag"),
])
def test_bad_expansions_are_refused(make, message):
    with DAG("bad"), pytest.raises(ValueError, match=message):
        make()


def test_an_expansion_over_a_return_value_depends_on_its_task():
    with DAG("wired") as dag:
        mapped = add.partial(y=10).expand(x=numbers())
    assert mapped.task.upstream_task_ids == {"numbers"}
    assert mapped.task.is_mapped and not dag.tasks["numbers"].is_mapped
    assert mapping.wire(mapped.task.expand_input) == {"x": {"xcom": "numbers"}}


def test_arguments_follow_the_order_of_a_product_of_the_lists():
    expansion = {"a": {"values": ["x", "y"]}, "b": {"xcom": "up"}}
    returned = {"up": [1, 2, 3]}
    assert mapping.length("t", expansion, returned) == 6
    assert [mapping.arguments("t", expansion, returned, i) for i in range(6)] == [
        {"a": a, "b": b} for a in ("x", "y") for b in (1, 2, 3)]
    with pytest.raises(mapping.ExpansionError, match="no map index 6"):
        mapping.arguments("t", expansion, returned, 6)
    with pytest.raises(mapping.ExpansionError, match="returned a str"):
        mapping.length("t", expansion, {"up": "abc"})
    with pytest.raises(mapping.ExpansionError, match="returned nothing"):
        mapping.length("t", expansion, {})


def test_an_import_error_names_the_mapped_task(dags_folder, processor, client):
    write(dags_folder, "bad.py", """
        from windsock import DAG, task
        with DAG("bad_mapping"):
            @task
            def one(item):
                return item
            one.expand(item="not a list")
    """)
    assert processor.run_pass().import_errors == 1
    [error] = client.get(f"{API}/importErrors").json()["import_errors"]
    assert "task 'one': expand() maps over lists" in error["stack_trace"]


def test_the_api_shows_which_tasks_are_mapped(dags_folder, processor, client):
    write(dags_folder, "mapped.py", """
        from windsock import DAG, ShellTask
        with DAG("shell_mapped") as dag:
            ShellTask.partial(task_id="echo").expand(command=["echo 1", "echo 2"])
            ShellTask("plain", "echo")
    """)
    summary = processor.run_pass()
    assert summary.import_errors == 0, summary
    response = client.get(f"{API}/dags/shell_mapped/tasks")
    assert response.status_code == 200, response.text
    tasks = response.json()["tasks"]
    assert {t["task_id"]: t["is_mapped"] for t in tasks} == {"echo": True, "plain": False}
