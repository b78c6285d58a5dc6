"""Windsock: workflow orchestration with a contract-first stable REST API.

DAG files import the authoring API from here:

    from windsock import DAG, Param, ShellTask, task
"""

from windsock.dags.dag import DAG
from windsock.dags.params import Param
from windsock.dags.tasks import BranchTask, PythonTask, ShellTask, task

__version__ = "0.1.0"
__all__ = ["DAG", "BranchTask", "Param", "PythonTask", "ShellTask", "task", "__version__"]
