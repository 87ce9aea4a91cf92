"""Load generators: wrk when installed, else a small asyncio HTTP/1.1 client.

Both keep `connections` requests in flight against one URL for a fixed
time and report the completed requests, the non-2xx answers, the socket
errors and latency percentiles measured per request (from writing the
request to reading the whole answer). gunicorn's sync workers close the
connection after every answer, so both clients reconnect as needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench.core import BenchError, log, percentile

WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
REQUEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class LoadResult:
    tool: str
    connections: int
    duration_s: float
    requests: int  # answers completed in the measured time
    non_2xx: int
    socket_errors: int  # connect/read/write errors and timeouts
    # The latency distribution as (milliseconds, weight) points whose weights
    # add up to `requests`: every request from the Python client, quantiles
    # from wrk. Points from several runs merge by concatenation.
    latency_ms: tuple[tuple[float, float], ...] = ()

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors

    def percentile_ms(self, percent: float) -> float:
        """The latency below which `percent` % of the requests completed."""
        return percentile(
            (value for value, _ in self.latency_ms), percent, (w for _, w in self.latency_ms)
        )


def combine(results: Sequence[LoadResult]) -> LoadResult:
    """Several runs against the same URL as one: requests over the summed time."""
    first = results[0]
    return LoadResult(
        tool=first.tool,
        connections=first.connections,
        duration_s=sum(r.duration_s for r in results),
        requests=sum(r.requests for r in results),
        non_2xx=sum(r.non_2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        latency_ms=tuple(point for r in results for point in r.latency_ms),
    )


def choose_tool(preference: str) -> str:
    """`wrk`, installing the Debian package when root and missing, else `python`."""
    if preference == "python":
        return "python"
    if shutil.which("wrk") or _install_wrk():
        return "wrk"
    if preference == "wrk":
        raise BenchError("wrk is not installed (apt-get install wrk) and could not be installed")
    log("wrk not available: using the Python load client (it shares the CPU with the server)")
    return "python"


def _install_wrk() -> bool:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    log("wrk not found; installing the Debian package: apt-get install -y wrk")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def apt_get(*args: str) -> bool:
        try:
            done = subprocess.run(
                ["apt-get", *args], env=env, capture_output=True, timeout=300, check=False
            )
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    # A stale package index is the usual reason the first attempt fails.
    if not apt_get("install", "-y", "-qq", "wrk"):
        apt_get("update", "-qq")
        apt_get("install", "-y", "-qq", "wrk")
    return shutil.which("wrk") is not None


def run(
    tool: str, url: str, *, connections: int, duration_s: int, wrk_threads: int = 1
) -> LoadResult:
    if tool == "wrk":
        return run_wrk(url, connections=connections, duration_s=duration_s, threads=wrk_threads)
    return run_python(url, connections=connections, duration_s=duration_s)


# --- wrk ------------------------------------------------------------------
def run_wrk(
    url: str, *, connections: int, duration_s: int, threads: int, script: Path = WRK_SCRIPT
) -> LoadResult:
    data = wrk_json(
        url, script=script, connections=connections, duration_s=duration_s, threads=threads
    )
    return LoadResult(
        tool="wrk",
        connections=connections,
        duration_s=data["duration_us"] / 1e6,
        requests=data["requests"],
        non_2xx=data["non2xx"],
        socket_errors=socket_errors(data),
        latency_ms=quantile_points(data),
    )


def wrk_json(
    url: str,
    *,
    script: Path,
    connections: int,
    duration_s: int,
    threads: int,
    args: Sequence[str] = (),
) -> dict:
    """Run wrk with a script ending in wrk_report.lua (`args` go to its init); its summary."""
    command = [
        "wrk",
        f"--threads={max(1, min(threads, connections))}",
        f"--connections={connections}",
        f"--duration={duration_s}s",
        f"--timeout={REQUEST_TIMEOUT_S:.0f}s",
        f"--script={script}",
        url,
        *(("--", *args) if args else ()),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=duration_s + 60, check=False
        )
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"wrk did not finish within {duration_s + 60} s") from e
    summary = next(
        (line for line in done.stdout.splitlines() if line.startswith("WRK_JSON ")), None
    )
    if done.returncode != 0 or summary is None:
        raise BenchError(f"wrk failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return json.loads(summary.removeprefix("WRK_JSON "))


def wrk_script(prefix: str, path: Path) -> Path:
    """A script of our own (requests, counters) followed by wrk_report.lua, written to `path`."""
    path.write_text(prefix + WRK_SCRIPT.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def socket_errors(data: dict) -> int:
    return data["connect"] + data["read"] + data["write"] + data["timeout"]


def quantile_points(data: dict) -> tuple[tuple[float, float], ...]:
    """wrk's quantiles as (milliseconds, weight) points whose weights add up to its requests."""
    # Quantile p stands for the requests between the previous quantile and p.
    points, previous = [], 0.0
    for percent, micros in data["quantiles_us"]:
        points.append((micros / 1000, (percent - previous) / 100 * data["requests"]))
        previous = percent
    return tuple(points)


# --- the Python client ------------------------------------------------------
@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    non_2xx: int = 0
    socket_errors: int = 0


class _ProtocolError(Exception):
    pass


def run_python(url: str, *, connections: int, duration_s: int) -> LoadResult:
    parts = urlsplit(url)
    request = (
        f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "User-Agent: imigrasi-bench\r\nAccept: */*\r\n\r\n"
    ).encode("ascii")
    return run_python_requests(
        parts.hostname or "127.0.0.1",
        parts.port or 80,
        [request],
        connections=connections,
        duration_s=duration_s,
    )


def run_python_requests(
    host: str, port: int, requests: Sequence[bytes], *, connections: int, duration_s: int
) -> LoadResult:
    """The Python client with raw requests: connection i repeats request i (modulo)."""
    return asyncio.run(_run_python(host, port, requests, connections, duration_s))


async def _run_python(
    host: str, port: int, requests: Sequence[bytes], connections: int, duration_s: int
) -> LoadResult:
    tally = _Tally()
    started = time.perf_counter()
    deadline = started + duration_s
    workers = [
        _connection(host, port, requests[i % len(requests)], deadline, tally)
        for i in range(connections)
    ]
    await asyncio.gather(*workers)
    return LoadResult(
        tool="python",
        connections=connections,
        duration_s=float(duration_s),
        requests=len(tally.latencies),
        non_2xx=tally.non_2xx,
        socket_errors=tally.socket_errors,
        latency_ms=tuple((seconds * 1000, 1.0) for seconds in tally.latencies),
    )


async def _connection(host: str, port: int, request: bytes, deadline: float, tally: _Tally) -> None:
    """One virtual user: request after request until the deadline."""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.perf_counter() < deadline:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                start = time.perf_counter()
                writer.write(request)
                status, keep_alive = await _read_response(reader)
                end = time.perf_counter()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, _ProtocolError):
            tally.socket_errors += 1
            await _close(writer)
            reader = writer = None
            continue
        if end <= deadline:  # an answer finishing after the window is not counted
            tally.latencies.append(end - start)
            if not 200 <= status <= 299:
                tally.non_2xx += 1
        if not keep_alive:
            await _close(writer)
            reader = writer = None
    await _close(writer)


async def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one whole answer; return its status and whether the connection stays open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        version, code = lines[0].split(" ", 2)[:2]
        status = int(code)
    except ValueError as e:
        raise _ProtocolError(lines[0]) from e
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip().lower()
    keep_alive = (
        headers.get("connection") != "close"
        if version == "HTTP/1.1"
        else headers.get("connection") == "keep-alive"
    )
    if "chunked" in headers.get("transfer-encoding", ""):
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    else:
        await reader.read()  # delimited by the end of the connection
        keep_alive = False
    return status, keep_alive
