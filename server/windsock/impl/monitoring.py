"""Monitoring operations: health and version."""

from __future__ import annotations

import logging

import sqlalchemy.exc

from windsock import __version__
from windsock.api.representations import iso
from windsock.api.resources import ok
from windsock.db.engine import session
from windsock.db.models import Job, utcnow
from windsock.scheduler import jobs

log = logging.getLogger(__name__)


def _newest_scheduler() -> tuple[bool, Job | None]:
    """Whether the database answered, and the scheduler job with the latest heartbeat."""
    try:
        with session() as sess:
            return True, jobs.newest(sess)
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
        log.warning("health check: metadata database unreachable: %s", exc)
        return False, None


def get_health():
    healthy, scheduler = _newest_scheduler()
    alive = scheduler is not None and jobs.is_alive(scheduler, utcnow())
    body = {
        "metadatabase": {"status": "healthy" if healthy else "unhealthy"},
        "scheduler": {"status": "healthy" if alive else "unhealthy",
                      "latest_scheduler_heartbeat": iso(scheduler and scheduler.latest_heartbeat)},
    }
    return ok(body, 200 if healthy else 503)


def get_version():
    return ok({"version": __version__, "git_version": None})
