"""What the scheduler makes of an undecided task instance, from its rule and its upstream
states: scheduled, wait (None), or never runnable (upstream_failed / skipped)."""

import pytest

from windsock.runs.dependencies import TRIGGER_RULES, Upstream
from windsock.scheduler.decisions import UNREACHABLE, decision

S, F, K, U, N, R = "success", "failed", "skipped", "upstream_failed", None, "running"

CASES = [
    ("all_success", [S, S], "scheduled"),
    ("all_success", [S, R], None),
    ("all_success", [F, R], "upstream_failed"),
    ("all_success", [U, S], "upstream_failed"),
    ("all_success", [K, S], "skipped"),
    ("all_failed", [F, U], "scheduled"),
    ("all_failed", [F, R], None),
    ("all_failed", [F, S], "skipped"),
    ("all_done", [F, K], "scheduled"),
    ("all_done", [F, R], None),
    ("all_skipped", [K, K], "scheduled"),
    ("all_skipped", [K, N], None),
    ("all_skipped", [K, S], "skipped"),
    ("one_success", [S, R], "scheduled"),
    ("one_success", [F, R], None),
    ("one_success", [F, K], "upstream_failed"),
    ("one_success", [K, K], "skipped"),
    ("one_failed", [U, R], "scheduled"),
    ("one_failed", [S, R], None),
    ("one_failed", [S, K], "skipped"),
    ("one_done", [F, R], "scheduled"),
    ("one_done", [K, R], None),
    ("one_done", [K, K], "skipped"),
    ("none_failed", [S, K], "scheduled"),
    ("none_failed", [S, R], None),
    ("none_failed", [U, R], "upstream_failed"),
    ("none_failed_min_one_success", [S, K], "scheduled"),
    ("none_failed_min_one_success", [K, R], None),
    ("none_failed_min_one_success", [K, K], "skipped"),
    ("none_failed_min_one_success", [F, S], "upstream_failed"),
    ("none_skipped", [S, F], "scheduled"),
    ("none_skipped", [S, R], None),
    ("none_skipped", [K, R], "skipped"),
    ("always", [R, F], "scheduled"),
]


def test_every_rule_has_an_outcome_when_it_cannot_be_met():
    assert set(UNREACHABLE) == set(TRIGGER_RULES)


@pytest.mark.parametrize(("rule", "upstream", "outcome"), CASES)
def test_decision(rule, upstream, outcome):
    assert decision(rule, Upstream.of(upstream)) == outcome


@pytest.mark.parametrize("rule", sorted(TRIGGER_RULES))
def test_a_task_without_upstream_tasks_is_scheduled(rule):
    assert decision(rule, Upstream.of([])) == "scheduled"
