"""Provider operations: Windsock's built-in provider and the installed provider packages."""

from __future__ import annotations

from windsock import providers
from windsock.api.resources import ok


def get_providers():
    items = [provider.listing() for provider in providers.discovered()]
    return ok({"providers": items, "total_entries": len(items)})
