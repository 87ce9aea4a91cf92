"""`make bench [BENCH=group]`: run bench groups and print their figures as JSON lines.

    python -m bench.run [GROUP ...] [--connections N] [--duration S] [--warmup S]
                        [--rounds N] [--workers N] [--wrk-threads N]
                        [--tool auto|wrk|python]

`all` (the default) runs every registered group. Exit status: 0 when every
group ran, 1 when one failed (e.g. the home page answered errors), 2 on
bad arguments.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from bench.core import BenchError, Context, Options, load_groups, log


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive whole number")
    return number


def parse_args(argv: list[str], group_names: list[str]) -> argparse.Namespace:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "groups", nargs="*", default=["all"], metavar="GROUP", help=f"all, {', '.join(group_names)}"
    )
    parser.add_argument("--connections", type=_positive, default=defaults.connections)
    parser.add_argument("--duration", type=_positive, default=defaults.duration_s, help="seconds")
    parser.add_argument("--warmup", type=_positive, default=defaults.warmup_s, help="seconds")
    parser.add_argument("--rounds", type=_positive, default=defaults.rounds)
    parser.add_argument("--workers", type=_positive, default=defaults.workers)
    parser.add_argument("--wrk-threads", type=_positive, default=defaults.wrk_threads)
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default=defaults.tool)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.groups) - {"all", *group_names})
    if unknown:
        parser.error(
            f"unknown group {', '.join(unknown)}; choose from all, {', '.join(group_names)}"
        )
    return args


def _stop_on_signal(signum: int, frame: FrameType | None) -> None:
    # SystemExit unwinds through the `with` blocks, so gunicorn is stopped.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    groups = load_groups()
    args = parse_args(sys.argv[1:] if argv is None else argv, list(groups))
    selected = list(groups) if "all" in args.groups else list(dict.fromkeys(args.groups))
    options = Options(
        connections=args.connections,
        duration_s=args.duration,
        warmup_s=args.warmup,
        rounds=args.rounds,
        workers=args.workers,
        wrk_threads=args.wrk_threads,
        tool=args.tool,
    )
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    ctx = Context.create(options)
    failed = []
    for name in selected:
        log(f"group {name}")
        try:
            groups[name](ctx)
        except BenchError as e:
            log(f"group {name} FAILED: {e}")
            failed.append(name)
    log(f"figures appended to {ctx.output}")
    if failed:
        log(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
