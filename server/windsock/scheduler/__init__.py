"""The scheduler: creates and starts DAG runs, decides and queues task instances, and hands them
to an executor (`executors/`)."""
