"""Placeholder: being implemented."""


def get_dag_stats(dag_ids, **_):
    raise NotImplementedError
