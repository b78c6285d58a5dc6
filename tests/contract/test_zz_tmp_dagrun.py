from tests.contract.test_schemathesis import bind_app, loopback, no_remote_hosts, schema  # noqa: F401

mine = schema.include(operation_id_regex="^(get_dag_runs|get_dag_runs_batch|post_dag_run|get_dag_run|delete_dag_run|update_dag_run_state|clear_dag_run|set_dag_run_note|post_clear_task_instances|post_set_task_instances_state)$")


@mine.parametrize()
def test_mine(case):
    case.call_and_validate()
