"""Placeholder: being implemented."""


def get_dag_warnings(dag_id, warning_type, limit, offset, order_by, **_):
    raise NotImplementedError
