"""Tasks that note when they start and end, in the journal file the `journal` param names:

    start <task_id> <pid> <unix time>
    end <task_id> <pid> <unix time>

`start` >> `sleeper` (6 s) >> after_1..3 >> `finish`, and `start` >> side_1..2 (3 s): the
scheduler restart test kills the scheduler while `sleeper` runs and other tasks wait."""

import os
import time
from datetime import datetime, timezone

from windsock import DAG, task


def note(path: str, event: str, task_id: str) -> None:
    with open(path, "a") as journal:
        journal.write(f"{event} {task_id} {os.getpid()} {time.time():.6f}\n")


def step(task_id: str, seconds: float):
    @task(task_id=task_id)
    def work(params=None):
        note(params["journal"], "start", task_id)
        time.sleep(seconds)
        note(params["journal"], "end", task_id)

    return work()


with DAG("e2e_restart", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
         tags=["e2e-runs"], params={"journal": ""}) as dag:
    start = step("start", 0)
    sleeper = step("sleeper", 6)
    after = [step(f"after_{n}", 0.5) for n in (1, 2, 3)]
    finish = step("finish", 0)
    start >> sleeper >> after >> finish
    start >> [step("side_1", 3), step("side_2", 3)]
