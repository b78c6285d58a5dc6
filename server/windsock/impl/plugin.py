"""Plugin operations: what this server process loaded from the plugins folder and entry points."""

from __future__ import annotations

from windsock import plugins
from windsock.api import paging


def get_plugins(limit: int | None = None, offset: int = 0):
    return paging.listed([item.listing() for item in plugins.loaded()], key="plugins",
                         limit=limit, offset=offset or 0)
