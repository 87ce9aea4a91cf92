"""How much CPU other processes take while a bench runs (Linux /proc/stat), and how much
a process group and PostgreSQL took (/proc/PID/stat).

The machine's two cores are shared by gunicorn, the load generator and
whatever else runs: a test suite started meanwhile halves every figure and
scatters the ratios. Each figure therefore says how busy the machine was
before the bench and how much CPU processes other than the bench's own took
during it, so a disturbed run can be recognised and repeated.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_TICK_S = 1 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01


def _busy_and_total_s() -> tuple[float, float] | None:
    """CPU seconds spent in processes (user, nice, system, steal) and in total, all CPUs."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    if len(fields) < 8:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
    # Interrupt time is left out: the bench's own loopback traffic lands there.
    busy = user + nice + system + steal
    total = busy + idle + iowait + irq + softirq
    return busy * _TICK_S, total * _TICK_S


def process_s() -> float:
    """CPU seconds of this process (a load client's threads)."""
    t = os.times()
    return t.user + t.system


def children_s() -> float:
    """CPU seconds of this process's reaped children (gunicorn, wrk)."""
    t = os.times()
    return t.children_user + t.children_system


def _own_s() -> float:
    """CPU seconds of this process and of its reaped children (gunicorn, wrk)."""
    return process_s() + children_s()


def group_and_postgres_s(process_group: int, database: str) -> dict[str, float]:
    """CPU seconds so far of a process group (gunicorn, a worker) and of PostgreSQL.

    PostgreSQL is the live backends of `database` plus what the postmaster's exited
    children took (a backend's CPU moves there when it exits): a Celery worker may close its
    database connection after a task, so its backends can be short-lived. That second part
    counts any database's backends, so it is exact only when nothing else uses the server.
    """
    totals = {"group": 0.0, "postgres": 0.0}
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return totals  # not Linux: the CPU figures read 0
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
            fields = stat[stat.rindex(")") + 2 :].split()
            cpu_s = (int(fields[11]) + int(fields[12])) * _TICK_S  # utime, stime
            if int(fields[2]) == process_group:  # pgrp: the leader started its own group
                totals["group"] += cpu_s
                continue
            if stat[stat.index("(") + 1 : stat.rindex(")")] != "postgres":
                continue
            # "postgres: 15/main: postgres imigrasi_bench_payments 127.0.0.1(5432) idle"
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if cmdline.startswith("postgres:"):
                if database in cmdline.split():
                    totals["postgres"] += cpu_s
            elif " -D " in f" {cmdline} ":  # the postmaster: its exited children's CPU
                totals["postgres"] += (int(fields[13]) + int(fields[14])) * _TICK_S
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
    return totals


def busy_percent(interval_s: float = 1.0) -> float | None:
    """How busy the CPUs are over `interval_s`, this process excluded (it sleeps)."""
    before = _busy_and_total_s()
    time.sleep(interval_s)
    after = _busy_and_total_s()
    if before is None or after is None or after[1] <= before[1]:
        return None
    return 100 * (after[0] - before[0]) / (after[1] - before[1])


@dataclass
class OtherUsage:
    """Started before the bench's processes; read after they have been reaped."""

    busy_s: float
    total_s: float
    own_s: float

    @classmethod
    def start(cls) -> OtherUsage | None:
        sample = _busy_and_total_s()
        return cls(sample[0], sample[1], _own_s()) if sample else None

    def percent(self) -> float | None:
        """Share of all CPU time taken by other processes since `start()`."""
        sample = _busy_and_total_s()
        if sample is None or sample[1] <= self.total_s:
            return None
        other = (sample[0] - self.busy_s) - (_own_s() - self.own_s)
        return max(0.0, 100 * other / (sample[1] - self.total_s))
