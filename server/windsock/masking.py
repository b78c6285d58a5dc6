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
