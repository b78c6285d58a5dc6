"""The DAG being defined: `with DAG(...):` blocks nest, the innermost is current."""

from __future__ import annotations

_stack: list = []


def push(dag) -> None:
    _stack.append(dag)


def pop() -> None:
    _stack.pop()


def current_dag():
    if not _stack:
        raise RuntimeError("tasks are created inside a `with DAG(...):` block or with dag=...")
    return _stack[-1]
