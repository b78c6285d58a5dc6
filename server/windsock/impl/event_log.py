"""Placeholder: being implemented."""


def get_event_log(event_log_id, **_):
    raise NotImplementedError


def get_event_logs(limit, offset, order_by, dag_id, task_id, run_id, map_index, try_number, event, owner, before, after, included_events, excluded_events, **_):
    raise NotImplementedError
