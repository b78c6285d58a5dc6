"""Debian packages that the test setup installs when a program it needs is missing (PostgreSQL,
Redis, RabbitMQ, the Kerberos KDC), so that the test command works on a fresh machine."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
LOCK_TIMEOUT = 300  # seconds apt-get waits for another apt-get (a parallel test session's)


def installed(packages: tuple[str, ...], find: Callable[[], T | None]) -> T:
    """What `find` finds (a program's path, say); when it finds nothing, installs `packages`
    with apt-get first and looks again."""
    found = find()
    if found is None:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        wait = f"DPkg::Lock::Timeout={LOCK_TIMEOUT}"
        subprocess.run(["apt-get", "-o", wait, "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "-o", wait, "install", "-y", "-qq", *packages], check=True,
                       env=env)
        found = find()
    if found is None:
        raise RuntimeError(f"not found after installing {' '.join(packages)}")
    return found
