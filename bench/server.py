"""gunicorn on a free port of 127.0.0.1, in its own process group, always stopped."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from bench.core import BASE_DIR, BenchError, log

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


class Gunicorn:
    """`with Gunicorn(...) as server:` serves imigrasi.wsgi until the block ends.

    The listening socket is bound here, on port 0, and handed to gunicorn as
    `fd://N`: the port is free by construction, with no window in which
    another process could take it, and it is known before gunicorn starts.
    """

    def __init__(
        self,
        *,
        env: dict[str, str],
        workers: int,
        log_path: Path,
        startup_timeout_s: float = 60,
    ) -> None:
        self.env = env
        self.workers = workers
        self.log_path = log_path
        self.startup_timeout_s = startup_timeout_s
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((HOST, 0))
            listener.listen(2048)
            self.port = listener.getsockname()[1]
            fd = listener.fileno()
            command = [
                sys.executable,
                "-m",
                "gunicorn",
                "imigrasi.wsgi",
                f"--bind=fd://{fd}",
                f"--workers={self.workers}",
                "--worker-class=sync",
                "--no-control-socket",
                "--timeout=30",
                "--graceful-timeout=5",
                "--log-level=warning",
                "--error-logfile=-",
            ]
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("wb")
            log(
                f"gunicorn on {HOST}:{self.port}, {self.workers} sync workers (log {self.log_path})"
            )
            self.process = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                pass_fds=(fd,),
                start_new_session=True,  # its own process group: stopped as a whole
            )
        finally:
            listener.close()  # gunicorn holds its own copy
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process is None or has_exited(self.process.pid):
                raise BenchError(f"gunicorn exited at start-up:\n{self.log_tail()}")
            try:
                self.get("/bench/hello", timeout_s=5)
            except OSError:
                time.sleep(0.2)
                continue
            return
        raise BenchError(f"gunicorn did not answer in {self.startup_timeout_s:.0f} s")

    def get(self, path: str, timeout_s: float = 10) -> Response:
        return self.request("GET", path, timeout_s=timeout_s)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float = 10,
    ) -> Response:
        """One request on a connection of its own (closed after the answer)."""
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout_s)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            return Response(
                answer.status,
                answer.getheader("Content-Type", ""),
                answer.read(),
                tuple(answer.getheaders()),
            )
        finally:
            connection.close()

    def stop(self) -> None:
        """SIGTERM to the whole process group, SIGKILL what is left after 10 s."""
        process, self.process = self.process, None
        if process is not None:
            stop_group(process, "gunicorn")
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        return tail(self.log_path, lines)


def stop_group(process: subprocess.Popen, name: str) -> None:
    """Stop a child started with start_new_session (gunicorn, a Celery worker) and its group:
    SIGTERM (a warm shutdown), SIGKILL what is left after 10 s.

    The leader is reaped only after the group has been killed: until then its pid, which is
    the group's id, cannot be reused, so the signals reach its processes and nothing else.
    """
    pgid = process.pid  # start_new_session: the child leads its group
    signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while not has_exited(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not has_exited(pgid):
        log(f"{name} did not stop in 10 s; killing it")
    # Also ends what a crashed leader may have left behind.
    signal_group(pgid, signal.SIGKILL)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        log(f"{name} (pid {pgid}) survived SIGKILL")


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def has_exited(pid: int) -> bool:
    """Whether a child has exited, without reaping it (WNOWAIT)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
