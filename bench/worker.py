"""A Celery prefork worker for a bench group, in its own process group, always stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.core import BASE_DIR, BenchError
from bench.server import has_exited, stop_group, tail


@contextmanager
def celery_worker(
    env: dict[str, str],
    log_path: Path,
    *,
    app: str,
    queue: str,
    name: str,
    concurrency: int,
    startup_check_s: float = 0,
) -> Iterator[subprocess.Popen[bytes]]:
    """`celery -A app worker` on `queue`, its output in `log_path`.

    The worker runs in a process group of its own, so that its CPU can be counted and it is
    stopped whole (a warm shutdown, then SIGKILL) however the block ends. With
    `startup_check_s` it must still be running that long after the start.
    """
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        app,
        "worker",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "-Q",
        queue,
        "-n",
        name,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"),
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            if startup_check_s:
                time.sleep(startup_check_s)
                if has_exited(process.pid):
                    raise BenchError(f"the Celery worker exited at start-up:\n{tail(log_path)}")
            yield process
        finally:
            stop_group(process, "the Celery worker")
