"""`windsock roles import FILE` with the JSON that Airflow 2's command line writes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from windsock import cli
from windsock.db.engine import session
from windsock.db.models import Role
from windsock.security.model import API_ACCESS
from windsock.security.roles import pair_of

# `airflow roles list --permission --output json` of a deployment with two custom roles.
AIRFLOW_PERMISSIONS = [
    {"name": "Analyst", "resource": "DAG Runs", "action": "can_create,can_read"},
    {"name": "Analyst", "resource": "DAGs", "action": "can_read"},
    {"name": "Analyst", "resource": "DAG:nightly_export", "action": "can_edit,can_read"},
    {"name": "Analyst", "resource": "ImportError", "action": "can_read"},
    {"name": "Analyst", "resource": "Browse", "action": "menu_access"},
    {"name": "Analyst", "resource": "Website", "action": "can_read"},
    {"name": "Auditor", "resource": "Audit Logs", "action": "can_read"},
    {"name": "Viewer", "resource": "DAGs", "action": "can_read"},
]


def held(name: str) -> set[tuple[str, str]]:
    with session() as sess:
        role = sess.scalar(select(Role).where(Role.name == name))
        return {pair_of(p) for p in role.permissions}


def run(capsys, path) -> str:
    cli.main(["roles", "import", str(path)])
    return capsys.readouterr().out


def test_roles_with_permissions(migrated, tmp_path, capsys):
    path = tmp_path / "roles.json"
    path.write_text(json.dumps(AIRFLOW_PERMISSIONS))
    out = run(capsys, path)
    assert "Created 2 role(s): Analyst, Auditor." in out
    assert "Left the built-in role(s) Viewer as they are." in out
    assert ("Skipped 2 permission(s) of Airflow's web UI: can_read on Website, menu_access on "
            "Browse.") in out
    assert held("Analyst") == {API_ACCESS, ("can_create", "DAG Runs"), ("can_read", "DAG Runs"),
                               ("can_read", "DAGs"), ("can_edit", "DAG:nightly_export"),
                               ("can_read", "DAG:nightly_export"), ("can_read", "Import Errors")}
    assert held("Auditor") == {API_ACCESS, ("can_read", "Audit Logs")}


def test_role_names_only_and_an_existing_role_gains(migrated, tmp_path, capsys):
    path = tmp_path / "names.json"
    path.write_text(json.dumps([{"name": "Auditor", "resource": "Audit Logs",
                                 "action": "can_read"}]))
    run(capsys, path)
    path.write_text(json.dumps(["Auditor", "Newcomer"]))  # what `airflow roles export` writes
    out = run(capsys, path)
    assert "Created 1 role(s): Newcomer." in out and "1 existing role(s): Auditor." in out
    assert held("Auditor") == {API_ACCESS, ("can_read", "Audit Logs")}
    assert held("Newcomer") == {API_ACCESS}


@pytest.mark.parametrize("content, words", [
    ("{}", "JSON list"),
    ("[1]", "Entry 0"),
    ('[{"name": "x"}]', "Entry 0"),
    ("not json", "not JSON"),
    (json.dumps(["x" * 65]), "1 to 64"),
])
def test_files_of_other_shapes_are_refused(migrated, tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SystemExit, match=words):
        cli.main(["roles", "import", str(path)])
    with session() as sess:
        assert sess.scalar(select(Role).where(Role.name == "x")) is None
