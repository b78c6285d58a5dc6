"""Authoring DAGs (DAG, tasks, params), reading them from files and storing them serialized."""
