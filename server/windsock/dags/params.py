"""DAG params: named run settings with defaults, checked against a JSON schema on trigger."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

_REQUIRED = object()


class Param:
    """A param's default value, description and JSON-schema keywords (`type`, `minimum`, ...).

    >>> Param(10, description="Rows per batch", type="integer", minimum=1)
    A param made without a default must be given in the run's `conf`.
    """

    def __init__(self, default: Any = _REQUIRED, description: str | None = None, **schema: Any):
        jsonschema.Draft7Validator.check_schema(schema)
        self.default = default
        self.description = description
        self.schema = schema
        if self.has_default:
            self.check(default, "default")

    @property
    def has_default(self) -> bool:
        return self.default is not _REQUIRED

    def check(self, value: Any, name: str) -> None:
        error = _first_error(self.schema, value)
        if error is not None:
            raise ValueError(f"param {name!r}: {error}")

    def serialize(self) -> dict[str, Any]:
        body: dict[str, Any] = {"description": self.description, "schema": self.schema}
        if self.has_default:
            body["default"] = self.default
        return body


def coerce(params: Mapping[str, Any] | None) -> dict[str, Param]:
    """Plain values in a DAG's `params` become Params with that default and no schema."""
    return {name: value if isinstance(value, Param) else Param(value)
            for name, value in (params or {}).items()}


def resolve(serialized: Mapping[str, Mapping[str, Any]], conf: Mapping[str, Any]) -> dict:
    """A run's conf with defaults filled in, checked against the serialized params.

    Raises ValueError naming the first param that is missing or invalid.
    """
    resolved = dict(conf)
    for name, spec in serialized.items():
        if name not in resolved:
            if "default" not in spec:
                raise ValueError(f"param {name!r} has no default and is missing from conf")
            resolved[name] = spec["default"]
        error = _first_error(spec.get("schema") or {}, resolved[name])
        if error is not None:
            raise ValueError(f"conf[{name!r}]: {error}")
    return resolved


def _first_error(schema: Mapping[str, Any], value: Any) -> str | None:
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(schema).iter_errors(value))
    return None if error is None else error.message
