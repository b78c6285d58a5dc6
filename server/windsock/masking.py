"""Recognising sensitive names, so their values are masked in listings and logs."""

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


def masked_mapping(body: dict) -> dict:
    """A copy of a request body fit for logs: sensitive fields, and the value of a variable
    with a sensitive key, replaced by the mask; nested objects masked the same way."""
    out = {}
    for name, value in body.items():
        if is_sensitive(name):
            out[name] = MASK
        elif isinstance(value, dict):
            out[name] = masked_mapping(value)
        else:
            out[name] = value
    key = body.get("key")
    if isinstance(key, str) and is_sensitive(key) and "value" in out:
        out["value"] = MASK
    if isinstance(body.get("extra"), str):
        out["extra"] = MASK  # free-form JSON text that may hold credentials
    return out
