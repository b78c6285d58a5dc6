"""Plugins, providers and extra links end to end: a plugin in the plugins folder of a real
`windsock api-server` and `windsock scheduler` is listed, its global link and macro render for a
task instance the scheduler ran, and its listener hears the run's state changes in the
scheduler's and the task runner's processes; the test provider package (installed into the test
environment) is listed."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN
from tests.e2e.conftest import reserialize_with_examples, scheduler_env, settle
from tests.support.scheduler import scheduler_process, wait_for
from tests.support.server import api_server

DAG_ID = "e2e_links"
RUN_ID = "links_run"
RUN_TIMEOUT = 120

PLUGIN = textwrap.dedent('''
    import json
    import os

    from windsock.plugins import WindsockPlugin


    class FileListener:
        """Appends each state change it hears, with the process that heard it, to a file."""

        def _write(self, kind, event, subject):
            with open(os.environ["E2E_LISTENER_FILE"], "a") as out:
                out.write(json.dumps({"kind": kind, "subject": subject, "pid": os.getpid(),
                                      "previous": event.previous_state,
                                      "state": event.state}) + "\\n")

        def on_dag_run_state_change(self, event):
            self._write("run", event, event.run_id)

        def on_task_instance_state_change(self, event):
            self._write("ti", event, event.task_id)


    class E2ePlugin(WindsockPlugin):
        name = "e2e_plugin"
        global_links = {"Tracker": "https://tracker.example.org/{dag_id}/{task_id}/{try_number}"}
        macros = {"region": "eu-west-1"}
        listeners = [FileListener()]
''')

DAG_FILE = textwrap.dedent('''
    from datetime import datetime, timezone

    from windsock import DAG, ShellTask

    with DAG("e2e_links", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
             is_paused_upon_creation=False) as dag:
        ShellTask("publish", "echo published", links={
            "Bucket": "https://{region}.storage.example.org/{dag_id}/{ds}",
            "Run": "https://runs.example.org/{run_id}",
        })
''')


@pytest.fixture(scope="module")
def setup(migrated, tmp_path_factory) -> Iterator[tuple[httpx.Client, Path]]:
    root = tmp_path_factory.mktemp("plugins_e2e")
    (root / "plugins").mkdir()
    (root / "plugins" / "e2e_plugin.py").write_text(PLUGIN)
    (root / "plugins" / "broken_plugin.py").write_text("import no_such_module_here\n")
    (root / "dags").mkdir()
    (root / "dags" / "e2e_links.py").write_text(DAG_FILE)
    heard = root / "heard.jsonl"
    env = {**migrated, "WINDSOCK__CORE__PLUGINS_FOLDER": str(root / "plugins"),
           "E2E_LISTENER_FILE": str(heard)}
    summary = reserialize_with_examples(env, root / "dags")
    assert "0 import errors" in summary, summary
    with api_server(env) as base, scheduler_process(
            scheduler_env(env, root / "dags"), root / "scheduler.log") as scheduler:
        with httpx.Client(base_url=f"{base}/api/v1", auth=ADMIN, timeout=30) as client:
            try:
                yield client, heard, scheduler
            finally:
                settle(scheduler)


def test_a_plugin_s_links_render_for_a_task_instance_the_scheduler_ran(setup):
    client, heard, scheduler = setup
    # The plugin that fails to load is an import error of its file, from the DAG processor
    # (asked here, before the test's clean-up deletes the parsed rows).
    errors = client.get("/importErrors").json()["import_errors"]
    broken = [e for e in errors if e["filename"].endswith("plugins/broken_plugin.py")]
    assert len(broken) == 1 and "no_such_module_here" in broken[0]["stack_trace"], errors
    created = client.post(f"/dags/{DAG_ID}/dagRuns", json={"dag_run_id": RUN_ID})
    assert created.status_code in (200, 201), created.text
    logical_date = created.json()["logical_date"]

    def finished():
        scheduler.assert_alive()
        run = client.get(f"/dags/{DAG_ID}/dagRuns/{RUN_ID}").json()
        return run if run["state"] in ("success", "failed") else None

    run = wait_for(finished, RUN_TIMEOUT, "the run to finish", scheduler.describe)
    assert run["state"] == "success"

    response = client.get(f"/dags/{DAG_ID}/dagRuns/{RUN_ID}/taskInstances/publish/links")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "Bucket": f"https://eu-west-1.storage.example.org/{DAG_ID}/{logical_date[:10]}",
        "Run": f"https://runs.example.org/{RUN_ID}",
        "Tracker": f"https://tracker.example.org/{DAG_ID}/publish/1",
        "Example provider": f"https://provider.example.org/{DAG_ID}/publish",
    }

    # The listener heard the run and the task instance change state, in the processes that
    # changed them (the scheduler and the task runner), after each change was committed.
    def heard_the_end():
        lines = heard.read_text().splitlines() if heard.exists() else []
        events = [json.loads(line) for line in lines]
        ends = {(e["kind"], e["subject"], e["state"]) for e in events}
        return events if {("run", RUN_ID, "success"), ("ti", "publish", "success")} <= ends \
            else None

    events = wait_for(heard_the_end, 30, "the listener to hear the run succeed")
    ti_states = [(e["previous"], e["state"]) for e in events if e["kind"] == "ti"]
    assert ti_states[-2:] == [("queued", "running"), ("running", "success")], ti_states
    run_states = [(e["previous"], e["state"]) for e in events if e["kind"] == "run"]
    assert run_states == [("queued", "running"), ("running", "success")], run_states
    assert len({e["pid"] for e in events}) >= 2  # the scheduler's and the runner's


def test_the_folder_s_plugin_and_the_installed_provider_are_listed(setup):
    client, _, _ = setup
    plugins = client.get("/plugins").json()
    names = [plugin["name"] for plugin in plugins["plugins"]]
    assert names == ["e2e_plugin", "example_provider"]  # the broken plugin is left out
    e2e = plugins["plugins"][0]
    assert e2e["global_operator_extra_links"] == ["Tracker"]
    assert e2e["macros"] == ["e2e_plugin.region"]
    assert e2e["listeners"] == ["windsock_plugins.e2e_plugin.FileListener"]
    assert e2e["source"].endswith("plugins/e2e_plugin.py")
    providers = client.get("/providers").json()
    assert [p["package_name"] for p in providers["providers"]] == [
        "windsock", "windsock-example-provider"]
