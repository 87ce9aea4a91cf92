"""The Django side the groups share, run in a process of their own (`bench.core.run_driver`):
made-up citizens for the seeds, unique random codes, timed PDF renders, the entry point."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys
import time
from collections.abc import Callable, Mapping

FIRST_NAMES = [
    "Ani", "Budi", "Citra", "Dewi", "Eko", "Fitri", "Gita", "Hadi", "Indah", "Joko",
    "Kartika", "Lestari", "Made", "Nur", "Putu", "Rina", "Siti", "Taufik", "Wayan", "Yusuf",
]  # fmt: skip
LAST_NAMES = [
    "Lestari", "Santoso", "Wijaya", "Saputra", "Hidayat", "Kusuma", "Pratama", "Nugroho",
    "Siregar", "Harahap", "Nasution", "Simanjuntak", "Gunawan", "Rahmawati", "Setiawan",
]  # fmt: skip
PLACES = ["Metro", "Gunung Sugih", "Liwa", "Bengkulu", "Padang", "Bandar Lampung", "Palembang"]
DESTINATIONS = ["Arab Saudi", "Malaysia", "Singapura", "Jepang", "Korea Selatan", "Australia"]
TRAVEL_PURPOSES = ["tourism", "pilgrimage", "work", "family"]
# What an account holds of the applicant's particulars (`applications.services.APPLICANT_FIELDS`).
ACCOUNT_FIELDS = ("full_name", "date_of_birth", "sex", "address")


def full_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def citizens(
    rng: random.Random,
    count: int,
    *,
    email: str,
    now: dt.datetime,
    extra: Callable[[int], dict] = lambda i: {},
) -> list:
    """`count` verified citizens (`email` with `{}` for the number) who can sign in to nothing."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import User

    return User.objects.bulk_create(
        [
            User(
                email=email.format(i),
                full_name=full_name(rng),
                date_of_birth=dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(21_000)),
                sex=rng.choice("LP"),
                address=f"Jl. Merdeka No. {rng.randrange(1, 300)}, {rng.choice(PLACES)}",
                preferred_language="en" if rng.random() < 0.15 else "id",
                password=make_password(None),
                email_verified_at=now,
                privacy_consent_at=now,
                **extra(i),
            )
            for i in range(count)
        ],
        batch_size=1000,
    )


def persons(rng: random.Random, users: list) -> list:
    """Each citizen as the applicant of their own account."""
    from applications.models import Person

    return Person.objects.bulk_create(
        [
            Person(
                owner=user,
                relationship=Person.Relationship.SELF,
                **{name: getattr(user, name) for name in ACCOUNT_FIELDS},
                place_of_birth=rng.choice(PLACES),
                father_name=full_name(rng),
                mother_name=full_name(rng),
            )
            for user in users
        ],
        batch_size=1000,
    )


def applicant(person, service, rng: random.Random, nationalities: list[str]) -> dict:
    """An application's copy of its applicant and its trip, by attribute name."""
    from applications.services import APPLICANT_FIELDS

    passport = service.details != "permit"
    return {
        **{name: getattr(person, name) for name in APPLICANT_FIELDS},
        "travel_purpose": rng.choice(TRAVEL_PURPOSES),
        "destination": rng.choice(DESTINATIONS) if passport else "",
        "nationality": "" if passport else rng.choice(nationalities),
        "sponsor_name": "" if passport else person.full_name,
    }


def unique(draw: Callable[[], str], taken: set[str]) -> str:
    """A value of `draw()` not yet in `taken`, which then holds it."""
    value = draw()
    while value in taken:
        value = draw()
    taken.add(value)
    return value


def time_renders(render: Callable[[], bytes], count: int) -> dict:
    """One render to warm the process (fonts, templates), then `count` timed renders."""
    started = time.perf_counter()
    pdf = render()
    first_ms = (time.perf_counter() - started) * 1000
    times_ms = []
    for _ in range(count):
        started = time.perf_counter()
        render()
        times_ms.append((time.perf_counter() - started) * 1000)
    return {"first_ms": first_ms, "times_ms": times_ms, "bytes": len(pdf)}


def main(
    argv: list[str], commands: Mapping[str, Callable[..., dict]], usage: str, *, args: int = 0
) -> int:
    """`python -m bench.groups.NAME COMMAND [ARG ...]`: Django set up, the command run with
    its `args` arguments, its result printed as JSON (what `run_driver` reads)."""
    if len(argv) != 1 + args or argv[0] not in commands:
        print(f"usage: {usage}", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imigrasi.settings")
    import django

    django.setup()
    print(json.dumps(commands[argv[0]](*argv[1:]), default=str), flush=True)
    return 0
