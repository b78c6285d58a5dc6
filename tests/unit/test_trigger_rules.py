"""Trigger rules: when the upstream task instances' states let a task instance run."""

import pytest

from windsock.dags.tasks import TRIGGER_RULES
from windsock.runs.dependencies import TRIGGER_RULES as EVALUATED
from windsock.runs.dependencies import Upstream, trigger_rule_unmet

S, F, K, U, N = "success", "failed", "skipped", "upstream_failed", None

# rule -> (upstream states that meet it, upstream states that do not)
CASES = {
    "all_success": ([S, S], [S, N]),
    "all_failed": ([F, U], [F, S]),
    "all_done": ([S, F, K], [S, "running"]),
    "all_skipped": ([K, K], [K, S]),
    "one_success": ([S, N], [F, N]),
    "one_failed": ([U, N], [S, N]),
    "one_done": ([F, N], [K, N]),
    "none_failed": ([S, K], [S, U]),
    "none_failed_min_one_success": ([S, K], [K, K]),
    "none_skipped": ([S, F], [S, K]),
    "always": ([N, F], None),
}


def test_every_rule_a_task_may_have_is_evaluated():
    assert set(EVALUATED) == set(TRIGGER_RULES) == set(CASES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule(rule):
    meets, fails = CASES[rule]
    assert trigger_rule_unmet(rule, Upstream.of(meets)) is None
    if fails is not None:
        reason = trigger_rule_unmet(rule, Upstream.of(fails))
        assert f"'{rule}'" in reason and "of its 2 upstream task(s), " in reason


def test_no_upstream_tasks_meets_every_rule():
    assert all(trigger_rule_unmet(rule, Upstream.of([])) is None for rule in CASES)


def test_removed_upstream_tasks_do_not_count():
    assert trigger_rule_unmet("all_success", Upstream.of([S, "removed"])) is None


def test_reason_names_how_the_upstream_stand():
    reason = trigger_rule_unmet("all_success", Upstream.of([S, F, U, K, N, "queued"]))
    assert reason.endswith("of its 6 upstream task(s), 1 succeeded, 2 failed, 1 skipped, "
                           "2 not finished.")
