"""Placeholder: being implemented."""


def clear_dag_run(dag_id, dag_run_id, body, **_):
    raise NotImplementedError


def delete_dag_run(dag_id, dag_run_id, **_):
    raise NotImplementedError


def get_dag_run(dag_id, dag_run_id, fields, **_):
    raise NotImplementedError


def get_dag_runs(dag_id, limit, offset, execution_date_gte, execution_date_lte, start_date_gte, start_date_lte, end_date_gte, end_date_lte, updated_at_gte, updated_at_lte, state, order_by, fields, **_):
    raise NotImplementedError


def get_dag_runs_batch(body, **_):
    raise NotImplementedError


def post_dag_run(dag_id, body, **_):
    raise NotImplementedError


def set_dag_run_note(dag_id, dag_run_id, body, **_):
    raise NotImplementedError


def update_dag_run_state(dag_id, dag_run_id, body, **_):
    raise NotImplementedError
