"""The key that signs access tokens: `[api] secret_key`, or a random one kept in WINDSOCK_HOME."""

from __future__ import annotations

import os
import secrets
import tempfile
from functools import cache

from windsock import config

KEY_FILE = "secret_key"


@cache
def signing_key() -> str:
    configured = config.get("api", "secret_key")
    if configured:
        return configured
    path = config.home() / KEY_FILE
    if not path.exists():
        # Written whole to a private temporary file, then linked into place: processes starting
        # together all end up with the one key that was linked first.
        fd, temp = tempfile.mkstemp(dir=path.parent)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48) + "\n")
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temp)
    return path.read_text().strip()
