"""Extra links of task instances, the plugins listing and the providers listing."""

from __future__ import annotations

import sys
import textwrap
import pytest

from tests.api.helpers import API, assert_problem
from tests.support.seed import EPOCH, add_dag, add_run
from windsock import DAG, ShellTask, listeners, plugins, task
from windsock.db.engine import session
from windsock.db.models import DagRun, TaskInstance
from windsock.runs import marking

PLUGIN_SOURCE = textwrap.dedent('''
    from windsock.plugins import WindsockPlugin

    SEEN = []


    class Recorder:
        def on_dag_run_state_change(self, event):
            SEEN.append(("run", event.dag_id, event.run_id, event.previous_state, event.state))

        def on_task_instance_state_change(self, event):
            SEEN.append(("ti", event.task_id, event.previous_state, event.state))


    class CompanyLinks(WindsockPlugin):
        name = "company_links"
        global_links = {"Search": "https://search.example.org/?q={dag_id}.{task_id}",
                        "Env": "https://{company_links.env}.example.org/{ds}"}
        macros = {"env": "staging", "owner": lambda context: context["dag_id"].upper()}
        listeners = [Recorder()]
''')
PROVIDER_LINK = "Example provider"  # the global link of the test provider package's plugin


@pytest.fixture
def plugin_folder(tmp_path, monkeypatch):
    """A plugins folder with one working plugin and one that fails to load."""
    (tmp_path / "company_links.py").write_text(PLUGIN_SOURCE)
    (tmp_path / "broken.py").write_text("raise RuntimeError('this plugin is broken')\n")
    monkeypatch.setenv("WINDSOCK__CORE__PLUGINS_FOLDER", str(tmp_path))
    plugins.reload()
    yield tmp_path
    plugins.reload()


def linked_dag() -> DAG:
    with DAG("linked", start_date=EPOCH) as dag:
        ShellTask("report", "echo done", links={
            "Docs": "https://docs.example.org/{dag_id}/{run_id}/{task_id}?i={map_index}",
            "Day": "https://calendar.example.org/{ds}/{logical_date}",
            "Owner": "https://people.example.org/{owner}",
            "Nothing": "https://example.org/{not_a_field}",
        })

        @task
        def plain():
            return 1

        plain()
    dag.fileloc = "/dags/linked.py"
    return dag


@pytest.fixture
def linked_run(migrated):
    dag = linked_dag()
    add_dag(dag)
    add_run(dag, "manual__2026-01-01T00:00:00+00:00", logical_date=EPOCH, state="running")
    return dag


def links_url(task_id: str, run_id: str = "manual__2026-01-01T00:00:00+00:00",
              dag_id: str = "linked") -> str:
    return f"{API}/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/links"


def test_a_task_s_links_render_for_its_instance(client, linked_run):
    response = client.get(links_url("report"))
    assert response.status_code == 200, response.text
    body = response.json()
    run = "manual__2026-01-01T00%3A00%3A00%2B00%3A00"
    assert body["Docs"] == f"https://docs.example.org/linked/{run}/report?i=-1"
    assert body["Day"] == ("https://calendar.example.org/2026-01-01/"
                           "2026-01-01T00%3A00%3A00%2B00%3A00")
    # a template naming a value that does not exist (no plugin gives `owner` here) is null
    assert body["Owner"] is None and body["Nothing"] is None
    # the installed test provider's plugin adds a global link to every task
    assert body[PROVIDER_LINK] == "https://provider.example.org/linked/report"


def test_the_task_lists_the_links_it_declares(client, linked_run):
    tasks = client.get(f"{API}/dags/linked/tasks").json()["tasks"]
    assert {t["task_id"]: [link["class_ref"] for link in t["extra_links"]] for t in tasks} == {
        "report": [{"class_name": name, "module_path": "windsock.links"}
                   for name in ("Day", "Docs", "Nothing", "Owner")],
        "plain": []}


def test_a_task_without_links_has_only_the_global_ones(client, linked_run):
    response = client.get(links_url("plain"))
    assert response.status_code == 200, response.text
    assert response.json() == {PROVIDER_LINK: "https://provider.example.org/linked/plain"}


def test_plugin_links_and_macros(client, linked_run, plugin_folder):
    body = client.get(links_url("report")).json()
    assert body["Search"] == "https://search.example.org/?q=linked.report"
    assert body["Env"] == "https://staging.example.org/2026-01-01"
    assert body["Owner"] == "https://people.example.org/LINKED"  # a callable macro, bare name
    assert body["Nothing"] is None


@pytest.mark.parametrize("task_id, run_id, dag_id, word", [
    ("missing", "manual__2026-01-01T00:00:00+00:00", "linked", "missing"),
    ("report", "no_such_run", "linked", "no_such_run"),
    ("report", "manual__2026-01-01T00:00:00+00:00", "no_such_dag", "no_such_dag"),
])
def test_links_of_what_does_not_exist_are_404(client, linked_run, task_id, run_id, dag_id,
                                               word):
    assert_problem(client.get(links_url(task_id, run_id, dag_id)), 404, word)


def test_bad_link_templates_fail_the_dag_file():
    with pytest.raises(ValueError, match="unbalanced braces"):
        with DAG("bad_links", start_date=EPOCH):
            ShellTask("t", "true", links={"Broken": "https://example.org/{dag_id"})
    with pytest.raises(ValueError, match="must be a string"):
        with DAG("bad_links2", start_date=EPOCH):
            ShellTask("t", "true", links={"Broken": 3})


def test_plugins_lists_the_folder_s_plugins_and_the_installed_ones(client, migrated,
                                                                   plugin_folder):
    response = client.get(f"{API}/plugins")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_entries"] == 2
    by_name = {plugin["name"]: plugin for plugin in body["plugins"]}
    assert list(by_name) == ["company_links", "example_provider"]
    company = by_name["company_links"]
    assert company == {
        "name": "company_links", "hooks": [], "executors": [],
        "macros": ["company_links.env", "company_links.owner"], "flask_blueprints": [],
        "appbuilder_views": [], "appbuilder_menu_items": [],
        "global_operator_extra_links": ["Env", "Search"], "operator_extra_links": [],
        "source": str(plugin_folder / "company_links.py"), "ti_deps": [],
        "listeners": ["windsock_plugins.company_links.Recorder"], "timetables": []}
    assert by_name["example_provider"]["source"].startswith("windsock-example-provider==0.3.1:")
    # the broken plugin is not listed, and did not stop the others
    assert str(plugin_folder / "broken.py") in plugins.failures()
    assert "this plugin is broken" in plugins.failures()[str(plugin_folder / "broken.py")]


def test_plugins_pages(client, migrated, plugin_folder):
    first = client.get(f"{API}/plugins", params={"limit": 1})
    assert [p["name"] for p in first.json()["plugins"]] == ["company_links"]
    assert first.json()["total_entries"] == 2
    assert 'rel="next"' in first.headers["link"]
    second = client.get(f"{API}/plugins", params={"limit": 1, "offset": 1})
    assert [p["name"] for p in second.json()["plugins"]] == ["example_provider"]
    assert client.get(f"{API}/plugins", params={"offset": 5}).json()["plugins"] == []


def test_providers_lists_windsock_and_the_installed_provider(client, migrated):
    response = client.get(f"{API}/providers")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_entries"] == len(body["providers"]) == 2
    windsock, example = body["providers"]
    assert windsock["package_name"] == "windsock" and windsock["version"]
    assert "ShellTask" in windsock["description"]
    assert example == {
        "package_name": "windsock-example-provider", "version": "0.3.1",
        "description": "Example connection type and task for Windsock's tests. "
                       "Connection types: example. "
                       "Task types: windsock_example_provider.tasks.EchoTask."}


def test_listeners_hear_committed_state_changes_only(migrated, linked_run, plugin_folder):
    plugins.loaded()
    seen = sys.modules["windsock_plugins.company_links"].SEEN  # the plugin file's module
    seen.clear()
    with session() as sess:
        run = sess.query(DagRun).filter_by(dag_id="linked").one()
        marking.set_run_state(sess, run, "success")
    assert ("run", "linked", run.run_id, "running", "success") in seen
    assert ("ti", "report", None, "success") in seen and ("ti", "plain", None, "success") in seen
    seen.clear()
    with pytest.raises(RuntimeError):
        with session() as sess:
            ti = sess.get(TaskInstance, ("linked", run.run_id, "plain", -1))
            marking.set_task_states([ti], "failed")
            raise RuntimeError("roll back")
    assert seen == []


def test_a_failing_listener_does_not_undo_the_change(migrated, linked_run, plugin_folder):
    class Failing:
        def on_task_instance_state_change(self, event):
            raise ValueError("listener bug")

    plugins.loaded()[0].plugin.listeners.append(Failing())
    try:
        with session() as sess:
            ti = sess.get(TaskInstance, ("linked", "manual__2026-01-01T00:00:00+00:00",
                                         "plain", -1))
            marking.set_task_states([ti], "failed")
        with session() as sess:
            assert sess.get(TaskInstance, ("linked", "manual__2026-01-01T00:00:00+00:00",
                                           "plain", -1)).state == "failed"
    finally:
        plugins.loaded()[0].plugin.listeners.pop()
    listeners.notify([])  # nothing to tell is fine
