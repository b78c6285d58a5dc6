"""A task mapped over its upstream task's return value, at most two instances at once, and a
reducer that receives every result in map index order."""

from datetime import datetime, timezone

from windsock import DAG, task

with DAG("e2e_mapped", schedule=None,
         start_date=datetime(2026, 1, 1, tzinfo=timezone.utc)) as dag:
    @task
    def files():
        return ["a.csv", "b.csv", "c.csv"]

    @task(max_active_tis_per_dag=2)
    def load(path, table):
        print(f"loading {path} into {table}")
        return f"{table}:{path}"

    @task
    def total(loaded):
        return loaded

    total(load.partial(table="orders").expand(path=files()))
