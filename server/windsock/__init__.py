"""Windsock: workflow orchestration with a contract-first stable REST API.

DAG files import the authoring API from here:

    from windsock import DAG, Dataset, Param, ShellTask, task
"""

from windsock.dags.dag import DAG
from windsock.dags.datasets import Dataset, DatasetAll, DatasetAny
from windsock.dags.params import Param
from windsock.dags.tasks import BranchTask, PythonTask, ShellTask, task

__version__ = "1.0.0"  # the contract's info.version: see docs/releasing.md
__all__ = ["DAG", "BranchTask", "Dataset", "DatasetAll", "DatasetAny", "Param", "PythonTask",
           "ShellTask", "task", "__version__"]
