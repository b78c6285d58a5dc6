"""Placeholder: being implemented."""


def get_xcom_entries(dag_id, dag_run_id, task_id, map_index, xcom_key, limit, offset, **_):
    raise NotImplementedError


def get_xcom_entry(dag_id, dag_run_id, task_id, xcom_key, map_index, deserialize, stringify, **_):
    raise NotImplementedError
