"""Extract, transform, load: Python tasks that hand their return values to each other."""

from datetime import datetime

from windsock.dags.dag import DAG
from windsock.dags.tasks import task

DOC = """
### Passing values between tasks

Three `@task` functions chained by their return values. Calling `transform(extract())` makes
`extract` upstream of `transform`; when the run executes, what `extract` returns is stored as
its `return_value` XCom and handed to `transform` as its argument, and so on to `load`.

Values must be JSON: numbers, strings, lists and objects.
"""

with DAG(
    "example_xcom_chain",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "xcom"],
    description="Extract, transform and load, passing data through XComs.",
    doc_md=DOC,
) as dag:

    @task
    def extract() -> list[dict]:
        """Read some orders (made up here)."""
        return [{"id": 1, "amount": 30.0}, {"id": 2, "amount": 12.5}, {"id": 3, "amount": 7.25}]

    @task
    def transform(orders: list[dict]) -> dict:
        """Summarize the orders."""
        return {"count": len(orders), "total": sum(order["amount"] for order in orders)}

    @task
    def load(summary: dict) -> None:
        """Report the summary (a real DAG would write it somewhere)."""
        print(f"{summary['count']} orders, {summary['total']:.2f} in total")

    load(transform(extract()))
