"""A task whose first try writes its pid to the file the `marker` param names and sleeps until
its worker is killed; its second try finds the file and succeeds."""

import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from windsock import DAG, task

with DAG("celery_victim", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
         tags=["e2e-celery"], params={"marker": ""}) as dag:

    @task(retries=1, retry_delay=timedelta(seconds=1))
    def victim(params=None):
        marker = Path(params["marker"])
        if marker.exists():
            print("second try: done")
            return
        marker.write_text(str(os.getpid()))
        print("first try: sleeping until my worker is killed", flush=True)
        time.sleep(300)

    victim()
