"""Monitoring operations: health and version."""

from __future__ import annotations

import logging

import sqlalchemy.exc
from sqlalchemy import text

from windsock import __version__
from windsock.api.resources import ok
from windsock.db.engine import session

log = logging.getLogger(__name__)


def _database_healthy() -> bool:
    try:
        with session() as sess:
            sess.execute(text("SELECT 1"))
        return True
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
        log.warning("health check: metadata database unreachable: %s", exc)
        return False


def get_health():
    healthy = _database_healthy()
    body = {
        "metadatabase": {"status": "healthy" if healthy else "unhealthy"},
        # No scheduler runs against this database yet.
        "scheduler": {"status": "unhealthy", "latest_scheduler_heartbeat": None},
    }
    return ok(body, 200 if healthy else 503)


def get_version():
    return ok({"version": __version__, "git_version": None})
