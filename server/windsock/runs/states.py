"""The states of runs and task instances, and which of them are final."""

from __future__ import annotations

RUN_STATES = ("queued", "running", "success", "failed")
FINISHED_RUN_STATES = frozenset({"success", "failed"})

FINISHED_TI_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
ACTIVE_TI_STATES = frozenset({"queued", "running", "restarting", "deferred"})
NOT_STARTED_TI_STATES = frozenset({None, "scheduled"})
FAILED_TI_STATES = frozenset({"failed", "upstream_failed"})
