"""The `windsock` command line, run as real processes against a fresh WINDSOCK_HOME."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.ports import free_port
from tests.support.scheduler import process_alive
from windsock.db.engine import session
from windsock.db.migrate import head_revision
from windsock.db.models import EventLog


@pytest.fixture
def fresh_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WINDSOCK")}
    env["WINDSOCK_HOME"] = str(tmp_path / "home")
    return env


def windsock(env, *args, check=True):
    return subprocess.run([sys.executable, "-m", "windsock.cli", *args], env=env, text=True,
                          capture_output=True, check=check, timeout=120)


def test_api_server_refuses_an_unmigrated_database(fresh_env):
    result = windsock(fresh_env, "api-server", "--port", str(free_port()), check=False)
    assert result.returncode != 0
    assert "windsock db migrate" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_is_repeatable_and_users_create_rejects_duplicates(fresh_env):
    head = head_revision()
    assert f"revision {head} (was empty)" in windsock(fresh_env, "db", "migrate").stdout
    assert f"(was {head})" in windsock(fresh_env, "db", "migrate").stdout
    ann = ["users", "create", "--username", "ann", "--password", "pw", "--role", "Op"]
    without_email = windsock(fresh_env, *ann, check=False)
    assert without_email.returncode != 0 and "--email" in without_email.stderr
    windsock(fresh_env, *ann, "--email", "ann@example.org")
    again = windsock(fresh_env, *ann, "--email", "ann2@example.org", check=False)
    assert again.returncode != 0 and "already exists" in again.stderr
    bad_role = windsock(fresh_env, "users", "create", "--username", "bob", "--password", "pw",
                        "--role", "Emperor", "--email", "bob@example.org", check=False)
    assert bad_role.returncode != 0 and "Unknown role" in bad_role.stderr


def test_config_get_value_honours_environment_overrides(fresh_env):
    assert windsock(fresh_env, "config", "get-value", "api", "port").stdout.strip() == "8080"
    fresh_env["WINDSOCK__API__PORT"] = "9191"
    assert windsock(fresh_env, "config", "get-value", "api", "port").stdout.strip() == "9191"
    unknown = windsock(fresh_env, "config", "get-value", "api", "nope", check=False)
    assert unknown.returncode != 0 and "Unknown option" in unknown.stderr


def test_standalone_runs_server_scheduler_and_processor_until_sigterm(fresh_env):
    port = free_port()
    fresh_env["WINDSOCK__API__PORT"] = str(port)
    fresh_env["WINDSOCK__DAG_PROCESSOR__REFRESH_INTERVAL"] = "1"
    proc = subprocess.Popen([sys.executable, "-m", "windsock.cli", "standalone"], env=fresh_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = ""
        deadline = time.monotonic() + 60
        while "Login:" not in output and time.monotonic() < deadline:
            output += proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/api/v1/ui/" in output
        assert "3 DAGs, 0 import errors" in output  # the examples, loaded before serving
        password = re.search(r"Login:\s+admin / (\S+)", output).group(1)
        saved = (fresh_env["WINDSOCK_HOME"] + "/standalone_admin_password.txt")
        assert open(saved).read().strip() == password
        assert oct(os.stat(saved).st_mode & 0o777) == "0o600"
        token = base64.b64encode(f"admin:{password}".encode()).decode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/pools",
                                         headers={"Authorization": f"Basic {token}"})
        while True:
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    assert json.load(response)["pools"][0]["name"] == "default_pool"
                    break
            except OSError:
                assert time.monotonic() < deadline, "standalone server did not answer"
                time.sleep(0.2)
        # A DAG file added while it runs is picked up by its DAG processor.
        dags = os.path.join(fresh_env["WINDSOCK_HOME"], "dags")
        os.makedirs(dags, exist_ok=True)
        with open(os.path.join(dags, "late.py"), "w") as f:
            f.write("from windsock import DAG, ShellTask\n"
                    "with DAG('late_arrival') as dag:\n    ShellTask('hello', 'echo hi')\n")
        request.full_url = f"http://127.0.0.1:{port}/api/v1/dags/late_arrival"
        while True:
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    assert json.load(response)["dag_id"] == "late_arrival"
                    break
            except OSError:
                assert time.monotonic() < deadline + 30, "the new DAG file was never parsed"
                time.sleep(0.5)
        # The scheduler runs too, and reports to GET /health.
        health = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/health")
        while True:
            with urllib.request.urlopen(health, timeout=2) as response:
                if json.load(response)["scheduler"]["status"] == "healthy":
                    break
            assert time.monotonic() < deadline + 30, "the scheduler never became healthy"
            time.sleep(0.5)
        children = child_processes(proc.pid)
        assert sorted(command for command in children.values()) == [
            "api-server", "dag-processor", "scheduler"]
        # SIGTERM stops the three children, then standalone itself.
        proc.terminate()
        assert proc.wait(timeout=60) == 0
        assert [pid for pid in children if process_alive(pid)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_standalone_stops_everything_when_one_of_its_processes_dies(fresh_env):
    fresh_env["WINDSOCK__API__PORT"] = str(free_port())
    proc = subprocess.Popen([sys.executable, "-m", "windsock.cli", "standalone"], env=fresh_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(children := child_processes(proc.pid)) < 3:
            assert time.monotonic() < deadline and proc.poll() is None, children
            time.sleep(0.2)
        scheduler = next(pid for pid, command in children.items() if command == "scheduler")
        os.kill(scheduler, signal.SIGKILL)
        assert proc.wait(timeout=60) == 1
        assert [pid for pid in children if process_alive(pid)] == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def child_processes(pid: int) -> dict[int, str]:
    """The child processes of `pid`: the `windsock` command each runs, by process id."""
    children = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                argv = (proc / "cmdline").read_text().split("\0")
                children[int(proc.name)] = argv[argv.index("windsock.cli") + 1]
        except (OSError, ValueError):  # gone meanwhile, or not a windsock command
            continue
    return children


CONNECTIONS_FILE = {
    "warehouse": {"conn_type": "postgres", "description": "Reporting", "host": "db.internal",
                  "login": "reporting", "password": "s3cr3t", "schema": "analytics",
                  "port": 5432, "extra": {"sslmode": "require"}},
    "crm": {"conn_type": "http", "host": "crm.internal"},
}
VARIABLES_FILE = {"region": "eu-west-1", "limits": {"rows": 1000, "tables": ["a"]}, "retries": 3,
                  "api_token": "hunter2", "quoted": '"kept as text"'}


def test_connections_and_variables_import_export_round_trip(migrated, fresh_env, tmp_path):
    """Import into the test database, export, import the export into another deployment (a
    fresh SQLite home) and export again: the same files; existing keys fail, are skipped or are
    overwritten as asked; nothing secret is printed; the event log names the keys."""
    source = {**os.environ, **migrated}
    windsock(fresh_env, "db", "migrate")
    for kind, document in (("connections", CONNECTIONS_FILE), ("variables", VARIABLES_FILE)):
        original, first, second = (tmp_path / f"{kind}-{n}.json" for n in ("in", "1", "2"))
        original.write_text(json.dumps(document))
        imported = windsock(source, kind, "import", str(original))
        assert f"Imported {len(document)} {kind}: " in imported.stdout
        assert "s3cr3t" not in imported.stdout + imported.stderr
        assert "hunter2" not in imported.stdout + imported.stderr
        exported = windsock(source, kind, "export", str(first))
        assert exported.stdout.strip() == f"Exported {len(document)} {kind} to {first}."
        assert first.stat().st_mode & 0o777 == 0o600
        windsock(fresh_env, kind, "import", str(first))
        windsock(fresh_env, kind, "export", str(second))
        assert json.loads(first.read_text()) == json.loads(second.read_text())

        again = windsock(source, kind, "import", str(original), check=False)
        assert again.returncode == 1 and "so none was imported" in again.stdout
        skipped = windsock(source, kind, "import", "--skip-existing", str(original))
        assert f"Imported 0 {kind}: -." in skipped.stdout
        assert f"Skipped {len(document)} existing {kind}: " in skipped.stdout
        overwritten = windsock(source, kind, "import", "--overwrite", str(original))
        assert f"Imported {len(document)} {kind}: " in overwritten.stdout

    connections = json.loads(second.parent.joinpath("connections-2.json").read_text())
    assert connections["warehouse"] == {**CONNECTIONS_FILE["warehouse"],
                                        "extra": '{"sslmode": "require"}'}
    assert connections["crm"]["password"] is None
    variables = json.loads(second.read_text())
    assert variables == VARIABLES_FILE

    with session() as sess:
        rows = [(row.event, json.loads(row.extra)["keys"]) for row in sess.scalars(
            select(EventLog).where(EventLog.event.like("cli_%")).order_by(EventLog.id))]
    assert rows[0] == ("cli_connections_import", ["warehouse", "crm"])
    assert [event for event, _ in rows] == ["cli_connections_import"] * 2 + [
        "cli_variables_import"] * 2


def test_an_import_with_an_invalid_entry_imports_nothing(migrated, tmp_path):
    source = {**os.environ, **migrated}
    path = tmp_path / "connections.json"
    path.write_text(json.dumps({"good": {"conn_type": "http"},
                                "bad": {"conn_type": "http", "port": "eighty",
                                        "password": "s3cr3t"},
                                "worse": {"conn_type": "http", "extra": "[1]"}}))
    result = windsock(source, "connections", "import", str(path), check=False)
    assert result.returncode == 1
    assert "Imported 0 connections: -." in result.stdout
    assert "bad: 400" in result.stdout and "'port'" in result.stdout
    assert "s3cr3t" not in result.stdout
    not_json = tmp_path / "broken.json"
    not_json.write_text("[1, 2]")
    refused = windsock(source, "variables", "import", str(not_json), check=False)
    assert refused.returncode != 0 and "one JSON object" in refused.stderr
    assert "Traceback" not in refused.stderr
