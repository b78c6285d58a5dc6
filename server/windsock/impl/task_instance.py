"""Placeholder: being implemented."""


def get_log(dag_id, dag_run_id, task_id, task_try_number, full_content, map_index, token, **_):
    raise NotImplementedError


def get_task_instance(dag_id, dag_run_id, task_id, **_):
    raise NotImplementedError


def get_task_instance_dependencies(dag_id, dag_run_id, task_id, **_):
    raise NotImplementedError


def get_task_instance_tries(dag_id, dag_run_id, task_id, limit, offset, order_by, **_):
    raise NotImplementedError


def get_task_instance_try_details(dag_id, dag_run_id, task_id, task_try_number, **_):
    raise NotImplementedError


def get_task_instances(dag_id, dag_run_id, execution_date_gte, execution_date_lte, start_date_gte, start_date_lte, end_date_gte, end_date_lte, updated_at_gte, updated_at_lte, duration_gte, duration_lte, state, pool, queue, executor, limit, offset, order_by, **_):
    raise NotImplementedError


def get_task_instances_batch(body, **_):
    raise NotImplementedError


def patch_task_instance(dag_id, dag_run_id, task_id, body, **_):
    raise NotImplementedError


def set_task_instance_note(dag_id, dag_run_id, task_id, body, **_):
    raise NotImplementedError
