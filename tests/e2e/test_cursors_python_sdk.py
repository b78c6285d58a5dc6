"""Cursor pages and Idempotency-Key through the generated Python SDK
(windsock_client) against a live server: the new parameters and fields as SDK users get them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import windsock_client
from windsock_client.models import DAGRunCreate

from tests.support.seed import EPOCH, add_dag, add_run, sample_dag


def test_cursor_pages_and_an_idempotent_trigger(api_client, migrated):
    dag = sample_dag()
    add_dag(dag)
    runs = windsock_client.DAGRunApi(api_client)
    key = str(uuid.uuid4())
    created = [runs.post_dag_run("sample", DAGRunCreate(note="once"), idempotency_key=key)
               for _ in range(2)]
    assert created[0].dag_run_id == created[1].dag_run_id
    for n in range(4):
        add_run(dag, f"r{n}", state="success", logical_date=EPOCH + timedelta(days=n))
    ids, cursor = [], ""
    while cursor is not None:
        page = runs.get_dag_runs("sample", limit=2, cursor=cursor)
        assert page.total_entries == len(page.dag_runs)
        ids += [run.dag_run_id for run in page.dag_runs]
        cursor = page.next_cursor
    every = runs.get_dag_runs("sample")
    assert ids == [run.dag_run_id for run in every.dag_runs] and every.total_entries == 5
