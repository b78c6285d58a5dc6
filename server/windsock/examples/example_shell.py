"""Shell commands as tasks, one of them reading a run param from its environment."""

from windsock.dags.dag import DAG
from windsock.dags.params import Param
from windsock.dags.tasks import ShellTask

DOC = """
### Shell tasks

Each `ShellTask` runs its command with `sh`; exit code 0 is success, anything else a failure
(retried once here). The command's output is the task's log.

`greet` reads the run's `greeting` param: every param of a run is in the environment of shell
tasks as `WINDSOCK_PARAM_<NAME>` (upper case). Trigger the DAG with the conf
`{"greeting": "Bonjour"}` to change it. `env` adds fixed variables of your own.
"""

with DAG(
    "example_shell",
    schedule=None,
    tags=["example", "shell"],
    description="Shell commands, one of them reading a param.",
    doc_md=DOC,
    params={"greeting": Param("Hello", description="What `greet` says.", type="string",
                              minLength=1)},
    default_args={"retries": 1},
) as dag:
    show_date = ShellTask("show_date", "date -u")
    greet = ShellTask("greet", 'echo "$WINDSOCK_PARAM_GREETING from $PLACE"',
                      env={"PLACE": "Windsock"})
    show_system = ShellTask("show_system", "uname -sr")

    show_date >> greet >> show_system
