"""Extra links: named URL templates that tasks declare (`links=`) and plugins contribute
(`global_links`), rendered for one task instance.

A template is text with `{name}` fields (`{{` and `}}` for literal braces). The fields are the
task instance's context, each URL-encoded as a path segment:

    dag_id, run_id, task_id, map_index, logical_date (ISO 8601), ds (YYYY-MM-DD), ts_nodash,
    try_number

plus the plugins' macros (`{<plugin>.<macro>}`, or `{<macro>}`). A template naming anything else
renders as None, as Airflow answers null for a link it cannot build.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from windsock import plugins

MODULE = __name__  # the module_path under which a task's links are listed in its extra_links
FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_.]*)\}")
CONTEXT_FIELDS = ("dag_id", "run_id", "task_id", "map_index", "logical_date", "ds", "ts_nodash",
                  "try_number")


def check_template(name: Any, template: Any) -> None:
    """Raise ValueError unless `name` -> `template` is a usable link (for DAG authors)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"link name {name!r} must be a non-empty string")
    if not isinstance(template, str):
        raise ValueError(f"link {name!r}: the template must be a string")
    rest = FIELD.sub("", template)
    if "{" in rest or "}" in rest:
        raise ValueError(f"link {name!r}: unbalanced braces in {template!r} "
                         "(write {{ and }} for literal braces)")


def context(dag_id: str, run_id: str, task_id: str, map_index: int,
            logical_date: datetime | None, try_number: int | None = None) -> dict[str, Any]:
    return {
        "dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": map_index,
        "logical_date": logical_date.isoformat() if logical_date else None,
        "ds": logical_date.strftime("%Y-%m-%d") if logical_date else None,
        "ts_nodash": logical_date.strftime("%Y%m%dT%H%M%S") if logical_date else None,
        "try_number": try_number,
    }


def render(template: str, values: Mapping[str, Any]) -> str | None:
    """`template` with its fields filled from `values`; None when a field is missing or None."""
    missing = False

    def fill(match: re.Match) -> str:
        nonlocal missing
        text = match.group(0)
        if text in ("{{", "}}"):
            return text[0]
        value = values.get(match.group(1))
        if value is None:
            missing = True
            return ""
        return quote(str(value), safe="")

    rendered = FIELD.sub(fill, template)
    return None if missing else rendered


def task_instance_links(task_links: Mapping[str, str] | None,
                        ti_context: dict[str, Any]) -> dict[str, str | None]:
    """Every link of one task instance, name -> URL or None: the plugins' global links, then the
    task's own (a task's link replaces a global one of the same name)."""
    templates = {**plugins.global_links(), **(task_links or {})}
    if not templates:
        return {}
    values = {**plugins.macros(ti_context), **ti_context}
    return {name: render(template, values) for name, template in templates.items()}
