"""The `windsock` command line."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import sqlalchemy.exc

from windsock import cli_backfill, config
from windsock.db import migrate
from windsock.security import redaction

ADMIN_USERNAME = "admin"
ADMIN_EMAIL = "admin@localhost"  # every user has an email, as in Airflow; change it with PATCH
ADMIN_PASSWORD_FILE = "standalone_admin_password.txt"


def _db_migrate(_args: argparse.Namespace) -> None:
    before, after = migrate.upgrade()
    print(f"Database at revision {after} (was {before or 'empty'}).")


def _serve(host: str, port: int, workers: int) -> None:
    from windsock.api import workers as api_workers

    migrate.check_current()
    # windsock's HTTP protocol keeps request heads within the [api] limits while reading them.
    api_workers.serve("windsock.api.workers:served_app", host=host, port=port, workers=workers,
                      http="windsock.api.http_protocol:HttpProtocol", log_level="info")


def _api_server(args: argparse.Namespace) -> None:
    _serve(args.host, args.port, args.workers)


def _users_create(args: argparse.Namespace) -> None:
    from windsock.security.users import create_user

    migrate.check_current()
    create_user(args.username, args.password, args.role, email=args.email,
                first_name=args.firstname, last_name=args.lastname)
    print(f"User {args.username!r} created with role {args.role}.")


def _roles_import(args: argparse.Namespace) -> None:
    from windsock.security.role_import import import_roles

    migrate.check_current()
    try:  # a file of another shape is a ValueError, which main reports
        print(import_roles(args.file).summary())
    except OSError as error:
        sys.exit(f"Cannot read {args.file}: {error.strerror}.")


def _import(args: argparse.Namespace) -> None:
    from windsock import transfer

    migrate.check_current()
    kind = transfer.KINDS[args.command]
    text, failed = transfer.report(kind, transfer.import_file(kind, args.file, args.existing))
    print(text)
    if failed:
        sys.exit(1)


def _export(args: argparse.Namespace) -> None:
    from windsock import transfer

    migrate.check_current()
    kind = transfer.KINDS[args.command]
    print(f"Exported {transfer.export_file(kind, args.file)} {kind.plural} to {args.file}.")


def _admin_login() -> str:
    """Create the admin user on first start; returns how to log in."""
    from windsock.security.passwords import generate_password
    from windsock.security.users import create_user, user_exists

    password_file = config.home() / ADMIN_PASSWORD_FILE
    if user_exists(ADMIN_USERNAME):
        return f"{ADMIN_USERNAME} (password in {password_file})"
    password = generate_password()
    create_user(ADMIN_USERNAME, password, "Admin", email=ADMIN_EMAIL)
    password_file.touch(mode=0o600)
    password_file.write_text(password + "\n")
    return f"{ADMIN_USERNAME} / {password} (also saved to {password_file})"


def _dag_processor(args: argparse.Namespace) -> None:
    from windsock.dags.processor import DagProcessor

    migrate.check_current()
    processor = DagProcessor()
    if args.once:
        processor.run_pass()
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: processor.stop())
    processor.run(config.get_int("dag_processor", "refresh_interval"))


def _dags_reserialize(_args: argparse.Namespace) -> None:
    from windsock.dags.processor import DagProcessor

    migrate.check_current()
    print(DagProcessor().run_pass(force=True))


def _scheduler(_args: argparse.Namespace) -> None:
    from windsock.scheduler.executors import executor_for
    from windsock.scheduler.loop import Scheduler

    migrate.check_current()
    scheduler = Scheduler(executor_for(config.get("core", "executor")))
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: scheduler.stop())
    scheduler.run()


def _tasks_run(args: argparse.Namespace) -> None:
    from windsock.scheduler.executors import TaskKey
    from windsock.scheduler.runner import run_task

    # No schema check: the scheduler that started this process has made it.
    sys.exit(run_task(TaskKey(args.dag_id, args.run_id, args.task_id, args.map_index)))


def _celery_worker(args: argparse.Namespace) -> None:
    from windsock.scheduler.executors import celery_app, celery_worker

    migrate.check_current()
    queues = [queue.strip() for queue in (args.queues or celery_app.DEFAULT_QUEUE).split(",")
              if queue.strip()]
    if not queues:
        raise ValueError("--queues names no queue.")
    celery_worker.run(queues, args.concurrency or config.get_int("celery", "worker_concurrency"))


def _standalone(args: argparse.Namespace) -> None:
    from windsock.supervisor import run_children

    os.environ.setdefault(f"{config.ENV_PREFIX}CORE__LOAD_EXAMPLES", "True")
    _db_migrate(args)
    login = _admin_login()
    _dags_reserialize(args)
    host = config.get("api", "host")
    port = config.get_int("api", "port")
    base = config.get("api", "base_url") or f"http://{host}:{port}"
    print(f"""
Windsock is starting.
  API:        {base}/api/v1
  Swagger UI: {base}/api/v1/ui/
  Reference:  {base}/api/v1/docs
  Login:      {login}
""", flush=True)
    sys.exit(run_children({"API server": ["api-server"], "scheduler": ["scheduler"],
                           "DAG processor": ["dag-processor"]}))


def _config_get_value(args: argparse.Namespace) -> None:
    try:
        print(config.get(args.section, args.key))
    except config.ConfigError as exc:
        sys.exit(str(exc))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="windsock", description="Windsock workflow orchestrator.")
    groups = parser.add_subparsers(dest="command", required=True)

    def command(sub, name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    db = groups.add_parser("db", help="Manage the metadata database.").add_subparsers(
        dest="db_command", required=True)
    command(db, "migrate", _db_migrate, "Create the schema or upgrade it to this version.")

    serve = command(groups, "api-server", _api_server, "Run the API server.")
    serve.add_argument("--host", default=None, help="Address to listen on ([api] host).")
    serve.add_argument("--port", type=int, default=None, help="Port to listen on ([api] port).")
    serve.add_argument("--workers", type=int, default=None,
                       help="Number of worker processes ([api] workers).")

    users = groups.add_parser("users", help="Manage users.").add_subparsers(
        dest="users_command", required=True)
    create = command(users, "create", _users_create, "Create a user.")
    create.add_argument("--username", required=True)
    create.add_argument("--password", default=os.environ.get("WINDSOCK_PASSWORD"),
                        help="The password (or set WINDSOCK_PASSWORD).")
    create.add_argument("--role", required=True,
                        help="Admin, Op, User, Viewer, Public or a custom role.")
    create.add_argument("--email", required=True, help="The user's email address (unique).")
    create.add_argument("--firstname", default="")
    create.add_argument("--lastname", default="")

    role_commands = groups.add_parser("roles", help="Manage roles.").add_subparsers(
        dest="roles_command", required=True)
    role_import = command(role_commands, "import", _roles_import,
                          "Create roles from an Airflow 2 deployment's JSON: what `airflow roles "
                          "export` writes (role names) or `airflow roles list --permission "
                          "--output json` (with permissions). See docs/migrating-permissions.md.")
    role_import.add_argument("file", type=Path, help="The JSON file.")

    for plural, shape in (("connections", "{conn_id: {conn_type, host, login, password, ...}}"),
                          ("variables", "{key: value}")):
        transfers = groups.add_parser(plural, help=f"Import and export {plural}.").add_subparsers(
            dest=f"{plural}_command", required=True)
        imported = command(transfers, "import", _import,
                           f"Create the {plural} of a JSON file shaped {shape}, as Airflow 2's "
                           f"`airflow {plural} export` writes it: all of them or, when one "
                           "fails, none. Prints the keys imported, skipped and failed; exit code "
                           "1 when any failed.")
        imported.add_argument("file", type=Path, help="The JSON file.")
        existing = imported.add_mutually_exclusive_group()
        existing.add_argument("--overwrite", dest="existing", action="store_const",
                              const="overwrite", default="fail",
                              help=f"Change existing {plural} to the file's (default: an "
                                   "existing one fails the import).")
        existing.add_argument("--skip-existing", dest="existing", action="store_const",
                              const="skip", help=f"Leave existing {plural} as they are.")
        exported = command(transfers, "export", _export,
                           f"Write every {plural[:-1]} to a JSON file shaped {shape}, secrets "
                           "included, readable by its owner only.")
        exported.add_argument("file", type=Path, help="The JSON file to write.")

    processor = command(groups, "dag-processor", _dag_processor,
                        "Parse the DAG files into the database, again every "
                        "[dag_processor] refresh_interval seconds.")
    processor.add_argument("--once", action="store_true", help="Make one pass, then exit.")
    dags = groups.add_parser("dags", help="Manage DAGs.").add_subparsers(
        dest="dags_command", required=True)
    command(dags, "reserialize", _dags_reserialize,
            "Parse every DAG file now, changed or not, and store the results.")
    cli_backfill.add_parser(dags)

    command(groups, "scheduler", _scheduler,
            "Run the scheduler: create and start DAG runs and run their task instances with the "
            "[core] executor, until SIGINT or SIGTERM.")
    tasks = groups.add_parser("tasks", help="Run task instances.").add_subparsers(
        dest="tasks_command", required=True)
    run = command(tasks, "run", _tasks_run,
                  "Run one try of a queued task instance (what the executor starts); exit code "
                  "0 when it succeeded or was not queued, 1 otherwise.")
    for name in ("dag_id", "task_id", "run_id"):
        run.add_argument(name)
    run.add_argument("--map-index", type=int, default=-1)

    celery = groups.add_parser("celery", help="Run Celery workers.").add_subparsers(
        dest="celery_command", required=True)
    worker = command(celery, "worker", _celery_worker,
                     "Run a Celery worker ([core] executor = celery): it runs the task instances "
                     "sent to its queues and serves this machine's task logs to the API servers "
                     "on [logging] worker_log_server_port, until SIGTERM (after its running "
                     "tasks) or SIGINT.")
    worker.add_argument("--queues", default=None,
                        help="Comma-separated queues to take task instances from (default: the "
                             "queue of the tasks that name none, `default`).")
    worker.add_argument("--concurrency", type=int, default=None,
                        help="Task instances run at once ([celery] worker_concurrency).")

    command(groups, "standalone", _standalone,
            "Migrate, create an admin user, load the DAGs (and the examples), then run the API "
            "server, the scheduler and the DAG processor until SIGINT or SIGTERM (for trying "
            "Windsock out).")

    cfg = groups.add_parser("config", help="Read the configuration.").add_subparsers(
        dest="config_command", required=True)
    get_value = command(cfg, "get-value", _config_get_value, "Print one option's value.")
    get_value.add_argument("section")
    get_value.add_argument("key")
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redaction.install()  # the scheduler and task runners write rows too
    args = _parser().parse_args(argv)
    config.ensure_config_file()
    if args.command == "api-server":
        args.host = args.host or config.get("api", "host")
        args.port = args.port or config.get_int("api", "port")
        args.workers = args.workers or config.get_int("api", "workers")
    if getattr(args, "command", None) == "users" and not args.password:
        sys.exit("A password is needed: --password or WINDSOCK_PASSWORD.")
    try:
        args.func(args)
    except migrate.NotMigrated as exc:
        sys.exit(str(exc))
    except ValueError as exc:
        sys.exit(str(exc))
    except sqlalchemy.exc.OperationalError as exc:
        sys.exit(f"Cannot use the metadata database: {exc.orig}")


if __name__ == "__main__":
    main()
