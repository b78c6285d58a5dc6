"""Recognising sensitive names, so their values are masked in listings, responses and the event
log.

A name is sensitive when it contains one of SENSITIVE_WORDS. Masking goes by names only: the
value of a sensitive field, at any depth of a body; the value of a variable whose key is
sensitive, whether the key comes in the body or in the path; and the values of sensitive keys
inside a connection's `extra`, which is JSON text (text that is not JSON is masked whole).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MASK = "***"
SENSITIVE_WORDS = (
    "access_token", "api_key", "apikey", "authorization", "passphrase", "passwd", "password",
    "private_key", "secret", "token", "credential",
)


def is_sensitive(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SENSITIVE_WORDS)


def masked(name: str, value: str) -> str:
    return MASK if is_sensitive(name) else value


def _masked_value(value: Any) -> Any:
    """`value` with the values of sensitive keys masked in every mapping it holds."""
    if isinstance(value, Mapping):
        return {name: MASK if is_sensitive(str(name)) else _masked_value(item)
                for name, item in value.items()}
    if isinstance(value, list):
        return [_masked_value(item) for item in value]
    return value


def masked_json(text: str) -> str:
    """JSON text with the values of sensitive keys masked; unchanged when none is; the mask
    alone when the text is not JSON."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return MASK
    cleaned = _masked_value(parsed)
    return text if cleaned == parsed else json.dumps(cleaned)


def unmasked_json(text: str, stored: str | None) -> str:
    """New JSON text sent back after a read: where it holds the mask for a sensitive key that
    the stored JSON has at the same place, the stored value is kept, so a read-modify-write
    does not overwrite a secret with the mask."""
    try:
        new, old = json.loads(text), json.loads(stored or "null")
    except ValueError:
        return text
    restored = _restored(new, old)
    return text if restored == new else json.dumps(restored)


def _restored(new: Any, old: Any) -> Any:
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        return [_restored(*pair) for pair in zip(new, old)]
    if not isinstance(new, dict) or not isinstance(old, dict):
        return new
    return {name: old[name] if value == MASK and is_sensitive(name) and name in old
            else _restored(value, old.get(name)) for name, value in new.items()}


def masked_mapping(body: Mapping[str, Any], path_params: Mapping[str, Any] | None = None) -> dict:
    """A copy of a request body fit for the event log and logs. `path_params` are the
    operation's path parameters: a variable's key may come from the path alone."""
    out = _masked_value(body)
    keys = (body.get("key"), (path_params or {}).get("variable_key"))
    if "value" in out and any(isinstance(key, str) and is_sensitive(key) for key in keys):
        out["value"] = MASK
    if isinstance(out.get("extra"), str):
        out["extra"] = masked_json(out["extra"])
    return out
