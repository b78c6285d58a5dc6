"""Plugins: Python classes that extend Windsock without changing it.

A plugin is a subclass of `WindsockPlugin` defined in a `.py` file of `[core] plugins_folder`
or named by an installed package's `windsock.plugins` entry point. It can contribute:

- `global_links`: extra links shown on every task instance, `{name: template}`; a template is
  rendered like a task's own links (see `windsock.links`);
- `macros`: values usable in every link template, `{name: value or callable(context) -> value}`,
  named `{<plugin name>.<macro>}` in templates, and `{<macro>}` when no other plugin took the name;
- `listeners`: objects whose `on_dag_run_state_change(event)` and
  `on_task_instance_state_change(event)` methods (either is optional) are called after a state
  change is committed (see `windsock.listeners`).

Plugins are loaded once per process, on first use. A plugin that fails to load (its file raises,
its entry point cannot be imported, it is not a `WindsockPlugin`) is logged and remembered in
`failures()`; it never stops the process. The DAG processor shows each failure as an import error
of the plugin's file (or entry point).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import inspect
import logging
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from windsock import config

ENTRY_POINT_GROUP = "windsock.plugins"
log = logging.getLogger("windsock.plugins")


class WindsockPlugin:
    """Subclass this, give it a `name` and set what it contributes."""

    name: str = ""
    global_links: dict[str, str] = {}
    macros: dict[str, Any] = {}
    listeners: list[Any] = []


@dataclass(frozen=True)
class LoadedPlugin:
    name: str
    source: str
    plugin: WindsockPlugin

    def listing(self) -> dict[str, Any]:
        """The plugin as `GET /plugins` lists it (Airflow's fields; those Windsock plugins
        cannot contribute are empty lists)."""
        listeners = [f"{type(item).__module__}.{type(item).__qualname__}"
                     if not inspect.isclass(item) and not inspect.ismodule(item)
                     else getattr(item, "__qualname__", getattr(item, "__name__", repr(item)))
                     for item in self.plugin.listeners]
        return {
            "name": self.name, "hooks": [], "executors": [],
            "macros": [f"{self.name}.{macro}" for macro in sorted(self.plugin.macros)],
            "flask_blueprints": [], "appbuilder_views": [], "appbuilder_menu_items": [],
            "global_operator_extra_links": sorted(self.plugin.global_links),
            "operator_extra_links": [], "source": self.source, "ti_deps": [],
            "listeners": listeners, "timetables": [],
        }


@dataclass
class _Registry:
    plugins: list[LoadedPlugin] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # source -> traceback


_lock = threading.Lock()
_registry: _Registry | None = None


def plugins_folder() -> Path:
    return Path(config.get("core", "plugins_folder")).expanduser()


def _plugin_classes(namespace: dict[str, Any], module_name: str) -> list[type[WindsockPlugin]]:
    return [value for value in namespace.values()
            if inspect.isclass(value) and issubclass(value, WindsockPlugin)
            and value is not WindsockPlugin and value.__module__ == module_name]


def _instantiate(cls: type[WindsockPlugin], source: str) -> LoadedPlugin:
    plugin = cls()
    name = plugin.name or cls.__name__
    if not isinstance(plugin.global_links, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in plugin.global_links.items()):
        raise TypeError(f"plugin {name!r}: global_links must map names to template strings")
    if not isinstance(plugin.macros, dict):
        raise TypeError(f"plugin {name!r}: macros must be a dict")
    return LoadedPlugin(name=name, source=source, plugin=plugin)


def _load_folder(registry: _Registry, folder: Path) -> None:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*.py")):
        if any(part.startswith((".", "__")) for part in path.relative_to(folder).parts):
            continue
        source = str(path)
        module_name = f"windsock_plugins.{'.'.join(path.relative_to(folder).with_suffix('').parts)}"
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
            for cls in _plugin_classes(vars(module), module_name):
                registry.plugins.append(_instantiate(cls, source))
        except Exception:  # noqa: BLE001 - a broken plugin must not stop the process
            sys.modules.pop(module_name, None)
            registry.failures[source] = traceback.format_exc()


def _load_entry_points(registry: _Registry) -> None:
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        source = (f"{dist.name}=={dist.version}:{entry_point.value}" if dist is not None
                  else entry_point.value)
        try:
            cls = entry_point.load()
            if not (inspect.isclass(cls) and issubclass(cls, WindsockPlugin)):
                raise TypeError(f"entry point {entry_point.name!r} ({entry_point.value}) "
                                "is not a WindsockPlugin subclass")
            registry.plugins.append(_instantiate(cls, source))
        except Exception:  # noqa: BLE001
            registry.failures[source] = traceback.format_exc()


def _load() -> _Registry:
    registry = _Registry()
    _load_folder(registry, plugins_folder())
    _load_entry_points(registry)
    registry.plugins.sort(key=lambda loaded: (loaded.name, loaded.source))
    for source, error in registry.failures.items():
        log.error("Plugin %s failed to load:\n%s", source, error)
    return registry


def _get() -> _Registry:
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = _load()
    return _registry


def loaded() -> list[LoadedPlugin]:
    """The plugins this process loaded, sorted by name."""
    return list(_get().plugins)


def failures() -> dict[str, str]:
    """The plugins that failed to load: their file or entry point, and the traceback."""
    return dict(_get().failures)


def reload() -> None:
    """Forget the loaded plugins; the next use loads them again (for tests and the CLI)."""
    global _registry
    with _lock:
        _registry = None


def global_links() -> dict[str, str]:
    """Every plugin's global links, name -> template (a later plugin does not replace an
    earlier one's link of the same name)."""
    links: dict[str, str] = {}
    for item in loaded():
        for name, template in item.plugin.global_links.items():
            links.setdefault(name, template)
    return links


def macros(context: dict[str, Any]) -> dict[str, Any]:
    """Every plugin's macros evaluated for `context`, by `<plugin>.<macro>` and by bare name
    (the first plugin wins a bare name). A macro that raises is left out (the links using it
    render as null)."""
    values: dict[str, Any] = {}
    for item in loaded():
        for name, macro in item.plugin.macros.items():
            try:
                value = macro(dict(context)) if callable(macro) else macro
            except Exception:  # noqa: BLE001
                log.warning("Macro %s.%s failed", item.name, name, exc_info=True)
                continue
            values[f"{item.name}.{name}"] = value
            values.setdefault(name, value)
    return values


def listeners() -> list[Any]:
    return [listener for item in loaded() for listener in item.plugin.listeners]
