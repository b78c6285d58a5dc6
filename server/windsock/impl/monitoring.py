"""Monitoring operations: health and version."""

from __future__ import annotations

import logging

import sqlalchemy.exc

from windsock import __version__
from windsock.api import deprecation
from windsock.api.representations import iso
from windsock.api.resources import ok
from windsock.db.engine import probe_session
from windsock.db.models import Job, utcnow
from windsock.scheduler import jobs

log = logging.getLogger(__name__)


def _newest_scheduler() -> tuple[bool, Job | None]:
    """Whether the database answered, and the scheduler job with the latest heartbeat."""
    try:
        with probe_session() as sess:
            return True, jobs.newest(sess)
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
            sqlalchemy.exc.TimeoutError) as exc:
        log.warning("health check: metadata database unreachable: %s", exc)
        return False, None


def health() -> tuple[dict, int]:
    """The health document and its status: 503 when the metadata database does not answer."""
    healthy, scheduler = _newest_scheduler()
    alive = scheduler is not None and jobs.is_alive(scheduler, utcnow())
    body = {
        "metadatabase": {"status": "healthy" if healthy else "unhealthy"},
        "scheduler": {"status": "healthy" if alive else "unhealthy",
                      "latest_scheduler_heartbeat": iso(scheduler and scheduler.latest_heartbeat)},
        "experimental_api": {"enabled": deprecation.enabled(), "calls": deprecation.use.calls,
                             "latest_call": iso(deprecation.use.latest_call)},
    }
    return body, 200 if healthy else 503


def get_health():
    return ok(*health())


def get_version():
    return ok({"version": __version__, "git_version": None})
