"""Scheduler jobs: one row per scheduler process, kept alive by its heartbeat."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from windsock import config
from windsock.db.models import Job

JOB_TYPE = "scheduler"


def start(sess: Session, now: datetime) -> Job:
    """A running scheduler job for this process."""
    job = _running_job(now)
    sess.add(job)
    sess.flush()
    return job


def heartbeat(sess: Session, job_id: int, now: datetime) -> None:
    """Record that the job is alive, recreating its row if it was deleted meanwhile. As a
    transaction's first statement on SQLite, it also takes the database's single write lock,
    so whatever the transaction reads next is current."""
    if sess.execute(update(Job).where(Job.id == job_id)
                    .values(latest_heartbeat=now)).rowcount == 0:
        sess.add(_running_job(now, id=job_id))


def _running_job(now: datetime, **fields) -> Job:
    return Job(job_type=JOB_TYPE, state="running", hostname=config.hostname(), pid=os.getpid(),
               start_date=now, latest_heartbeat=now, **fields)


def end(sess: Session, job_id: int, now: datetime) -> None:
    sess.execute(update(Job).where(Job.id == job_id).values(state="success", end_date=now))


def threshold() -> timedelta:
    return timedelta(seconds=config.get_int("scheduler", "health_check_threshold"))


def is_alive(job: Job, now: datetime) -> bool:
    return job.state == "running" and job.latest_heartbeat >= now - threshold()


def live_ids(now: datetime) -> Select:
    """The ids of the scheduler jobs that are alive, as a subquery."""
    return select(Job.id).where(Job.job_type == JOB_TYPE, Job.state == "running",
                                Job.latest_heartbeat >= now - threshold())


def newest(sess: Session) -> Job | None:
    """The scheduler job with the latest heartbeat."""
    return sess.scalar(select(Job).where(Job.job_type == JOB_TYPE)
                       .order_by(Job.latest_heartbeat.desc(), Job.id.desc()).limit(1))
