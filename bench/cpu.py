"""How much CPU other processes take while a bench runs (Linux /proc/stat).

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


def _own_s() -> float:
    """CPU seconds of this process and of its reaped children (gunicorn, wrk)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


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
