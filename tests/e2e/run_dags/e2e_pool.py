"""Two independent tasks in a pool of one slot (the test creates the pool): they must run one
after the other."""

from datetime import datetime, timezone

from windsock import DAG, ShellTask

with DAG("e2e_pool", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
         tags=["e2e-runs"]) as dag:
    ShellTask("hold_a", "sleep 2", pool="e2e_one_slot")
    ShellTask("hold_b", "sleep 2", pool="e2e_one_slot")
