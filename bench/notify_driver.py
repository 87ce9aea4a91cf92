"""The Django side of the `notify` bench group, run as its own process:

    python -m bench.notify_driver --warmup 20 --burst 1000 --paced 500 --rate 50

It calls `notifications.notify()` as a web request would (rows written in a
transaction, handed to Celery after commit), waits until the worker has
handed every message to the gateway, and prints one JSON object on stdout
with what the bench group needs: each phase's notification ids, commit
times and the time from commit to each row's first `sending` event (the
worker's claim). Its own bench user and rows are removed at the start and
at the end, so a configured database does not grow from run to run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

EVENT = "bench.status_update"
EMAIL = "bench.notify@example.invalid"
PHONE = "+6281200000001"
SMS_TEMPLATE = (
    "{% autoescape off %}Imigrasi: permohonan {{ ref }} kini {{ status }}. "
    "Cek rinciannya di portal.{% endautoescape %}"
)


class DriverError(Exception):
    pass


def register_event() -> None:
    """A status update by SMS (the worker registers it as well: bench/notify_celery.py)."""
    from notifications import events
    from notifications.models import Channel

    events.EVENTS[EVENT] = (events.STATUS, (Channel.SMS,))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notify_driver")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--paced", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0, help="paced notifications per second")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per phase")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    import bench.notify_celery  # noqa: F401 (the bench's queue for the tasks sent here)

    register_event()
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp:
        (Path(tmp) / "sms").mkdir()
        (Path(tmp) / "sms" / f"{EVENT}.txt").write_text(SMS_TEMPLATE, encoding="utf-8")
        templates = [{**settings.TEMPLATES[0], "DIRS": [tmp, *settings.TEMPLATES[0]["DIRS"]]}]
        with override_settings(TEMPLATES=templates):
            person = _bench_person()
            _clear(person)
            try:
                result = _run(person, args)
            except DriverError as e:
                print(f"bench: notify driver: {e}", file=sys.stderr, flush=True)
                return 1
            finally:
                _clear(person)
    print(json.dumps(result), flush=True)
    return 0


def _run(person, args) -> dict:
    # Warm-up: the worker's processes import, connect and answer before the clock runs.
    warm = [_notify_one(person, i) for i in range(args.warmup)]
    _wait_sent(person, [pk for pk, _ in warm], args.timeout, "warm-up")

    burst_ids, burst_commit = _notify_burst(person, args.burst)
    _wait_sent(person, burst_ids, args.timeout, "burst")

    paced = []
    interval = 1.0 / args.rate
    start = time.monotonic()
    for i in range(args.paced):
        pause = start + i * interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        paced.append(_notify_one(person, args.warmup + args.burst + i))
    offered_s = time.monotonic() - start
    paced_ids = [pk for pk, _ in paced]
    _wait_sent(person, paced_ids, args.timeout, "paced")

    claims = _first_sending(burst_ids + paced_ids)
    return {
        "burst": {
            "ids": burst_ids,
            "commit_at": burst_commit,
            "to_sending_ms": [(claims[pk] - burst_commit) * 1000 for pk in burst_ids],
        },
        "paced": {
            "ids": paced_ids,
            "rate": args.paced / offered_s if offered_s > 0 else 0.0,
            "commit_at": {str(pk): at for pk, at in paced},
            "to_sending_ms": [(claims[pk] - at) * 1000 for pk, at in paced],
        },
    }


def _bench_person():
    from django.utils import timezone

    from accounts.models import User

    person = User.objects.filter(email=EMAIL).first()
    if person is None:
        person = User.objects.create_user(EMAIL, None, full_name="Bench Notify", phone=PHONE)
    User.objects.filter(pk=person.pk).update(
        phone=PHONE, phone_verified_at=timezone.now(), preferred_language="id", is_active=True
    )
    person.refresh_from_db()
    return person


def _clear(person) -> None:
    from notifications.models import Notification

    Notification.objects.filter(recipient=person).delete()


def _context(i: int) -> dict:
    return {"ref": f"BENCH-{i:05d}", "status": "disetujui"}


def _notify_one(person, i: int) -> tuple[int, float]:
    """One notification in its own transaction; the time its commit returned."""
    from django.db import transaction

    from notifications.services import notify

    committed: list[float] = []
    with transaction.atomic():
        # Registered first, so it runs first: right after COMMIT, before the hand-off.
        transaction.on_commit(lambda: committed.append(time.time()))
        (row,) = notify(person, EVENT, _context(i))
    return row.pk, committed[0]


def _notify_burst(person, count: int) -> tuple[list[int], float]:
    """`count` notifications in one transaction (a bulk change): all queued at commit."""
    from django.db import transaction

    from notifications.services import notify

    committed: list[float] = []
    ids = []
    with transaction.atomic():
        transaction.on_commit(lambda: committed.append(time.time()))
        for i in range(count):
            (row,) = notify(person, EVENT, _context(10_000 + i))
            ids.append(row.pk)
    return ids, committed[0]


def _wait_sent(person, ids: list[int], timeout: float, phase: str) -> None:
    """Until every row has been handed to the gateway (`sent_at`), or fail."""
    from notifications.models import Notification

    failed = {
        Notification.Status.PERMANENT_FAILURE,
        Notification.Status.TECHNICAL_FAILURE,
        Notification.Status.SKIPPED,
    }
    deadline = time.monotonic() + timeout
    # Only this driver writes the bench person's rows: a pk range is the batch,
    # and a cheap query to repeat (the clock is read from the rows afterwards,
    # so polling rarely costs no precision, and leaves the CPU to the worker).
    rows = Notification.objects.filter(recipient=person, pk__gte=min(ids), pk__lte=max(ids))
    while True:
        pending = rows.filter(sent_at__isnull=True)
        broken = list(pending.filter(status__in=failed).values_list("status", "reason")[:3])
        if broken:
            raise DriverError(f"{phase}: messages failed: {broken}")
        left = pending.count()
        if not left:
            return
        if time.monotonic() > deadline:
            raise DriverError(
                f"{phase}: {left} of {len(ids)} messages not at the gateway after {timeout:.0f} s "
                "(is the worker running? see var/bench/notify-worker.log)"
            )
        time.sleep(0.25)


def _first_sending(ids: list[int]) -> dict[int, float]:
    """Each row's first `sending` event (the worker's claim), as a Unix time."""
    from django.db.models import Min

    from notifications.models import Notification, NotificationEvent

    claims = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in (
            NotificationEvent.objects.filter(
                notification_id__in=chunk, status=Notification.Status.SENDING
            )
            .values("notification_id")
            .annotate(first=Min("at"))
        ):
            claims[row["notification_id"]] = row["first"].timestamp()
    missing = set(ids) - set(claims)
    if missing:
        raise DriverError(f"{len(missing)} rows have no sending event")
    return claims


if __name__ == "__main__":
    sys.exit(main())
