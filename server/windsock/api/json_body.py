"""JSON request bodies parsed with the limits the json module lacks, each a 400 when broken.

- Arrays and objects nested deeper than `[api] max_json_depth`: the nesting is measured on the
  raw text before parsing, because the parser, the schema validation and every later walk over
  the body recurse once per level (a thousand levels were a RecursionError and a 500).
- Numbers the API could neither store nor answer in JSON: `NaN` and `Infinity` (which the json
  module accepts), floats that overflow to infinity (`1e999`), and integers outside 64 bits
  (the database's largest; Python refuses to even read integers of more than 4300 digits).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from windsock import config
from windsock.api.problems import BadRequest

INT64_MIN, INT64_MAX = -2**63, 2**63 - 1
# A JSON string (skipped: its brackets do not nest), an opening or a closing bracket.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]|[\]}]', re.DOTALL)
_OPENING = frozenset(b"[{")


def parse(raw: bytes, encoding: str) -> Any:
    """The body's JSON value."""
    _check_depth(raw, config.get_int("api", "max_json_depth"))
    try:
        return json.loads(raw.decode(encoding), parse_constant=_refuse_constant,
                          parse_float=_finite_float, parse_int=_int64)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.") from None


def _check_depth(raw: bytes, maximum: int) -> None:
    if raw.count(b"[") + raw.count(b"{") <= maximum:
        return  # cannot nest deeper than it has brackets: most bodies end here
    depth = 0
    for token in _TOKENS.finditer(raw):
        first = token.group()[0]
        if first in _OPENING:
            depth += 1
            if depth > maximum:
                raise BadRequest(f"The body nests arrays and objects deeper than "
                                 f"{maximum} levels ([api] max_json_depth).")
        elif first != ord('"'):
            depth -= 1


def _refuse_constant(name: str) -> None:
    raise BadRequest(f"The body holds {name}, which is not a JSON number.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadRequest(f"The body holds a number too large to represent ({text[:40]}).")
    return value


def _int64(text: str) -> int:
    # 20 characters hold any 64-bit integer; longer text is refused before it is converted.
    value = int(text) if len(text) <= 20 else None
    if value is None or not INT64_MIN <= value <= INT64_MAX:
        raise BadRequest(f"The body holds an integer of {len(text.lstrip('-'))} digits, outside "
                         f"the 64-bit range the API stores ({INT64_MIN} to {INT64_MAX}).")
    return value
