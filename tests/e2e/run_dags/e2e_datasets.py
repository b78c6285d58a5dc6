"""A DAG scheduled on a dataset that no DAG here produces: only an update reported from outside
(`POST /datasets/events`) triggers it."""

from datetime import datetime, timezone

from windsock import DAG, Dataset, ShellTask

ORDERS = Dataset("s3://e2e/orders")

with DAG("e2e_orders_consumer", schedule=[ORDERS],
         start_date=datetime(2026, 1, 1, tzinfo=timezone.utc), tags=["e2e-runs"]) as dag:
    ShellTask("read", "echo consumed")
