"""`home`: the home page against a bare view, on the same gunicorn, in the same run.

The bare view (`/bench/hello`, on with BENCH_ENDPOINTS) goes through the
same middleware, WSGI server and sockets, so `home.ratio` (home rps /
hello rps) is the share of the floor the home page keeps: what its
template, context processors and any queries cost, independent of how
fast the machine is.

The measured time is split into rounds that alternate the two URLs
(hello, home, home, hello, ...): on a shared machine whatever else runs
then slows both alike instead of whichever happened to be measured second.
"""

from __future__ import annotations

from bench import load
from bench.core import BUSY_WARNING_PCT, BenchError, Context, group, log
from bench.server import Gunicorn

TARGET_RATIO = 0.3
PAGES = {"hello": "/bench/hello", "home": "/"}


@group("home")
def home(ctx: Context) -> None:
    options = ctx.options
    tool = ctx.tool()
    rounds = max(1, min(options.rounds, options.duration_s))
    slices = [
        options.duration_s // rounds + (1 if i < options.duration_s % rounds else 0)
        for i in range(rounds)
    ]
    sizes: dict[str, int] = {}
    with ctx.server() as server:
        for name, path in PAGES.items():
            sizes[name] = _check_page(server, name, path)
        # Warm-up: every worker compiles and caches the templates, fills the
        # footer's fragment cache and opens its persistent database connection.
        for path in PAGES.values():
            _load(ctx, server, path, options.warmup_s)
        log(
            f"measuring {', '.join(PAGES.values())} for {options.duration_s} s each "
            f"in {len(slices)} rounds, {options.connections} connections, {tool}"
        )
        runs: dict[str, list[load.LoadResult]] = {name: [] for name in PAGES}
        for i, seconds in enumerate(slices):
            order = list(PAGES) if i % 2 == 0 else list(reversed(PAGES))
            for name in order:
                runs[name].append(_load(ctx, server, PAGES[name], seconds))
        results = {name: load.combine(runs[name]) for name in PAGES}
        workers = server.workers

    context = {
        "tool": tool,
        "connections": options.connections,
        "duration_s": options.duration_s,
        "warmup_s": options.warmup_s,
        "rounds": rounds,
        "workers": workers,
    }
    for name, result in results.items():
        extra = {
            **context,
            "path": PAGES[name],
            "requests": result.requests,
            "response_bytes": sizes[name],
        }
        ctx.emit(f"{name}.rps", result.rps, "req/s", **extra)
        ctx.emit(f"{name}.p50_ms", result.percentile_ms(50), "ms", **extra)
        ctx.emit(f"{name}.p99_ms", result.percentile_ms(99), "ms", **extra)
        ctx.emit(
            f"{name}.errors",
            result.errors,
            "count",
            non_2xx=result.non_2xx,
            socket_errors=result.socket_errors,
            **extra,
        )

    hello, page = results["hello"], results["home"]
    ratio = page.rps / hello.rps if hello.rps else 0.0
    met = ratio >= TARGET_RATIO
    round_ratios = [
        round(home_run.rps / hello_run.rps, 3) if hello_run.rps else 0.0
        for hello_run, home_run in zip(runs["hello"], runs["home"], strict=True)
    ]
    ctx.emit(
        "home.ratio",
        ratio,
        "ratio",
        target=TARGET_RATIO,
        target_met=met,
        round_ratios=round_ratios,
        **context,
    )
    verdict = "met" if met else "NOT met"
    other = ctx.common.get("cpu_other_pct") or 0
    if other > BUSY_WARNING_PCT:
        # Contention slows the bare view more than the page: busy runs flatter the ratio.
        verdict += f", but not reliably: other processes took {other:.0f} % of the CPU"
    log(
        f"home.ratio {ratio:.3f} (home {page.rps:.0f} req/s / hello {hello.rps:.0f} req/s, "
        f"{options.connections} connections, {ctx.database.vendor}): "
        f"target >= {TARGET_RATIO} {verdict}"
    )
    if tool == "python":
        log(
            "the Python client limits the bare view's rate on a small machine, which "
            "overstates home.ratio: judge the target with wrk"
        )
    for name, result in results.items():
        if result.errors:
            raise BenchError(
                f"{PAGES[name]} answered {result.non_2xx} non-2xx and "
                f"{result.socket_errors} socket errors out of {result.requests} requests "
                f"(server log: {ctx.output.parent / 'gunicorn.log'})"
            )


def _load(ctx: Context, server: Gunicorn, path: str, seconds: int) -> load.LoadResult:
    return load.run(
        ctx.tool(),
        server.url(path),
        connections=ctx.options.connections,
        duration_s=seconds,
        wrk_threads=ctx.options.wrk_threads,
    )


def _check_page(server: Gunicorn, name: str, path: str) -> int:
    """One request before the load: a 200 with the expected body, else no figures."""
    response = server.get(path)
    if response.status != 200:
        hint = {
            301: " (an HTTPS redirect? SECURE_SSL_REDIRECT must be false)",
            400: " (ALLOWED_HOSTS?)",
            404: " (BENCH_ENDPOINTS off?)" if name == "hello" else "",
        }.get(response.status, "")
        raise BenchError(f"GET {path} answered {response.status}{hint}\n{server.log_tail()}")
    if name == "hello" and response.body != b"hello":
        raise BenchError(f"GET {path} answered {response.body[:80]!r}, not b'hello'")
    if name == "home" and (
        not response.content_type.startswith("text/html") or b"</html>" not in response.body
    ):
        raise BenchError(f"GET {path} did not answer a whole HTML page")
    return len(response.body)
