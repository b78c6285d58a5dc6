"""Text a request may carry: Unicode that UTF-8 and the database can hold.

JSON can spell a lone UTF-16 surrogate (`"\\ud800"`) and Python keeps it in the parsed string,
but it cannot be encoded as UTF-8, so storing or even comparing it fails in the database driver;
PostgreSQL refuses NUL characters in text as well. A URL can carry percent-encoded bytes that are
not UTF-8, which the server would silently replace with U+FFFD. All of these are the client's
mistake: the request validators reject them (400 naming the field) before an operation runs,
wherever they are in a body or a parameter, so nothing is written.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _flaw(text: str) -> str | None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "a NUL character"
    return f"a lone UTF-16 surrogate (U+{ord(found.group()):04X})"


def unstorable(value: Any, where: str = "") -> str | None:
    """Why `value` (a string, or parsed JSON at any depth) cannot be stored, naming the field
    path where it fails ('conf.a.b', 'dag_ids[2]'); None when it can be.

    `where` is the name of `value` itself, empty for a whole body.
    """
    pending = [(where, value)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str):
            if flaw := _flaw(value):
                place = f"'{where}'" if where else "The body"
                return f"{place} contains {flaw}, which cannot be stored."
        elif isinstance(value, dict):
            for key, item in value.items():
                if flaw := _flaw(key):
                    place = f"A key in '{where}'" if where else "A key of the body"
                    return f"{place} contains {flaw}, which cannot be stored."
                pending.append((f"{where}.{key}" if where else key, item))
        elif isinstance(value, list):
            pending.extend((f"{where}[{index}]", item) for index, item in enumerate(value))
    return None


def _is_utf8(encoded: bytes) -> bool:
    try:
        unquote_to_bytes(encoded).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def undecodable_parameters(raw_path: bytes | None, query_string: bytes,
                           path_params: dict[str, Any]) -> str | None:
    """Why the URL's parameters are not text (percent-encoded bytes that are not UTF-8), naming
    them; None when they are. `path_params` are the values as decoded with U+FFFD for what
    was not UTF-8, which tells which ones the raw path's bad bytes belong to."""
    if raw_path is not None and not _is_utf8(raw_path):
        names = [name for name, value in path_params.items() if "\ufffd" in str(value)]
        return f"Path parameter {', '.join(map(repr, names))} is not UTF-8 once percent-decoded."
    for item in query_string.split(b"&"):
        name, _, value = item.partition(b"=")
        if not (_is_utf8(name) and _is_utf8(value)):
            readable = unquote(name.decode("latin-1").replace("+", " "), errors="replace")
            return f"Query parameter {readable!r} is not UTF-8 once percent-decoded."
    return None
