"""Placeholder: being implemented."""


def delete_dag(dag_id, **_):
    raise NotImplementedError


def get_dag(dag_id, fields, **_):
    raise NotImplementedError


def get_dag_details(dag_id, fields, **_):
    raise NotImplementedError


def get_dag_source(file_token, **_):
    raise NotImplementedError


def get_dags(limit, offset, order_by, tags, only_active, paused, fields, dag_id_pattern, **_):
    raise NotImplementedError


def get_task(dag_id, task_id, **_):
    raise NotImplementedError


def get_tasks(dag_id, order_by, **_):
    raise NotImplementedError


def patch_dag(dag_id, body, update_mask, **_):
    raise NotImplementedError


def patch_dags(dag_id_pattern, body, limit, offset, tags, update_mask, only_active, **_):
    raise NotImplementedError


def post_clear_task_instances(dag_id, body, **_):
    raise NotImplementedError


def post_set_task_instances_state(dag_id, body, **_):
    raise NotImplementedError


def reparse_dag_file(file_token, **_):
    raise NotImplementedError
