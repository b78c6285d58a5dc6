"""Branching: a param picks one of two paths; a join and a cleanup run after either."""

from windsock.dags.dag import DAG
from windsock.dags.params import Param
from windsock.dags.tasks import ShellTask, task

DOC = """
### Choosing a path

`choose_path` is a `@task.branch`: it returns the id of the task to follow, and the other
direct downstream task is skipped. The choice comes from the run's `mode` param (`fast` or
`thorough`); Python tasks receive the run's params through a `params` argument.

`join` uses the trigger rule `none_failed_min_one_success`, so it runs after whichever path
ran, although the other one was skipped. `cleanup` uses `all_done` and runs once `join` has
finished, whatever happened (`always` would run it at once, without waiting).
"""

with DAG(
    "example_branch",
    schedule=None,
    tags=["example", "branch"],
    description="A param chooses between two paths that join again.",
    doc_md=DOC,
    params={
        "mode": Param("fast", description="Which path to take.", type="string",
                      enum=["fast", "thorough"]),
        "rounds": Param(3, description="How many rounds the thorough path makes.",
                        type="integer", minimum=1, maximum=10),
    },
) as dag:

    @task.branch
    def choose_path(params=None) -> str:
        """Follow `fast_path` or `thorough_path`, as the `mode` param says."""
        return "fast_path" if params["mode"] == "fast" else "thorough_path"

    @task
    def fast_path() -> str:
        return "done quickly"

    @task
    def thorough_path(params=None) -> str:
        return f"done in {params['rounds']} rounds"

    @task(trigger_rule="none_failed_min_one_success")
    def join() -> None:
        """Runs after whichever path was taken."""

    cleanup = ShellTask("cleanup", "echo cleaning up", trigger_rule="all_done")

    chosen = choose_path()
    chosen >> [fast_path(), thorough_path()] >> join() >> cleanup
