"""A DAGs folder of its own for each test, and helpers to write DAG files into it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


@pytest.fixture
def dags_folder(migrated, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    monkeypatch.setenv("WINDSOCK__CORE__DAGS_FOLDER", str(folder))
    monkeypatch.setenv("WINDSOCK__CORE__LOAD_EXAMPLES", "False")
    return folder


@pytest.fixture
def processor(dags_folder):
    from windsock.dags.processor import DagProcessor

    return DagProcessor()


def write(folder: Path, name: str, source: str) -> str:
    """Write a DAG file (source dedented); returns its absolute path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return str(path)


def shell_dags(**dags: list[str]) -> str:
    """Source of a DAG file with one DAG per keyword argument: its shell tasks, chained."""
    source = "from windsock.dags.dag import DAG\nfrom windsock.dags.tasks import ShellTask\n"
    for dag_id, task_ids in dags.items():
        source += f"\nwith DAG({dag_id!r}) as {dag_id}_dag:\n"
        source += "".join(f"    {t} = ShellTask({t!r}, 'echo {t}')\n" for t in task_ids)
        source += f"    {' >> '.join(task_ids)}\n"
    return source
