"""Config operations: the effective configuration, off unless `[api] expose_config` is on."""

from __future__ import annotations

from windsock import config as settings
from windsock.api.problems import Forbidden, NotFound
from windsock.api.resources import negotiate, ok

FORMATS = ("application/json", "text/plain")


def _require_exposed() -> None:
    if not settings.get_bool("api", "expose_config"):
        raise Forbidden("Exposing the configuration is disabled. Set [api] expose_config = True "
                        "in windsock.cfg (or WINDSOCK__API__EXPOSE_CONFIG=True) to enable it.")


def _render(sections: list[tuple[str, list[tuple[str, str]]]]):
    media_type = negotiate(FORMATS, "The configuration")
    if media_type == "text/plain":
        return settings.as_ini(sections), 200, {"Content-Type": "text/plain"}
    return ok({"sections": [{"name": name, "options": [{"key": k, "value": v} for k, v in options]}
                         for name, options in sections]})


def get_config(section: str | None = None):
    _require_exposed()
    sections = settings.effective(section)
    if not sections:
        raise NotFound(f"Configuration section {section!r} does not exist.")
    return _render(sections)


def get_value(section: str, option: str):
    _require_exposed()
    options = dict(settings.effective(section)).get(section, [])
    match = [(key, value) for key, value in options if key == option]
    if not match:
        raise NotFound(f"Configuration option [{section}] {option} does not exist.")
    return _render([(section, match)])
