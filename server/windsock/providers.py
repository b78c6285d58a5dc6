"""Providers: packages that bring connection types and task types.

An installed distribution registers a provider with an entry point in the group
`windsock.providers` whose object is a callable returning (or is itself) a dict:

    {"name": "...", "description": "...", "connection_types": [...], "task_types": [...]}

(`name` defaults to the distribution's name; `version` is always the distribution's version).
Windsock's own connection types and task types form the provider `windsock`. A provider whose
entry point fails is logged and left out; it never stops the process. Discovered once per process.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from dataclasses import dataclass, field
from typing import Any

import windsock

ENTRY_POINT_GROUP = "windsock.providers"
log = logging.getLogger("windsock.providers")


@dataclass(frozen=True)
class Provider:
    package_name: str
    description: str
    version: str
    connection_types: tuple[str, ...] = field(default=())
    task_types: tuple[str, ...] = field(default=())

    def listing(self) -> dict[str, Any]:
        """The provider as `GET /providers` lists it (Airflow's fields: what it brings is told
        in the description)."""
        parts = [self.description.rstrip(".") + "." if self.description else ""]
        if self.connection_types:
            parts.append(f"Connection types: {', '.join(self.connection_types)}.")
        if self.task_types:
            parts.append(f"Task types: {', '.join(self.task_types)}.")
        return {"package_name": self.package_name,
                "description": " ".join(part for part in parts if part),
                "version": self.version}


def builtin() -> Provider:
    return Provider(
        package_name="windsock",
        description="Windsock's built-in connection types and task types",
        version=windsock.__version__,
        connection_types=("postgres", "postgresql"),
        task_types=("windsock.dags.tasks.PythonTask", "windsock.dags.tasks.BranchTask",
                    "windsock.dags.tasks.ShellTask"))


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{what} must be a list of strings")
    return tuple(value)


def _from_entry_point(entry_point: importlib.metadata.EntryPoint) -> Provider:
    info = entry_point.load()
    if callable(info):
        info = info()
    if not isinstance(info, dict):
        raise TypeError(f"provider entry point {entry_point.value} gave {type(info).__name__}, "
                        "not a dict")
    dist = entry_point.dist
    return Provider(
        package_name=str(info.get("name") or (dist.name if dist else entry_point.name)),
        description=str(info.get("description") or ""),
        version=dist.version if dist else str(info.get("version") or ""),
        connection_types=_strings(info.get("connection_types"), "connection_types"),
        task_types=_strings(info.get("task_types"), "task_types"))


@functools.cache
def discovered() -> tuple[Provider, ...]:
    """Windsock's provider and every installed one, sorted by package name."""
    found = {"windsock": builtin()}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            provider = _from_entry_point(entry_point)
        except Exception:  # noqa: BLE001 - a broken provider must not stop the process
            log.exception("Provider entry point %s failed to load", entry_point.value)
            continue
        found.setdefault(provider.package_name, provider)
    return tuple(sorted(found.values(), key=lambda provider: provider.package_name))
