"""Guessing one reference's birth date from many addresses is stopped per reference."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.urls import reverse

from tests.utils import page_text

STATUS_CHECK = reverse("status_check")
MIDDAY = dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)


def check(client, reference, date_of_birth, ip):
    return client.post(
        STATUS_CHECK, {"reference": reference, "date_of_birth": date_of_birth}, REMOTE_ADDR=ip
    )


def test_wrong_birth_dates_for_one_reference_from_many_addresses_lock_that_reference(
    english, settings, submitted
):
    settings.STATUS_CHECK_REFERENCE_MISSES = 3

    with time_machine.travel(MIDDAY, tick=False):
        misses = [
            check(english, submitted.reference, f"1990-01-0{day}", ip=f"192.0.2.{day}")
            for day in range(1, 4)
        ]
        locked = check(english, submitted.reference, "1990-05-12", ip="198.51.100.9")

    assert [m.status_code for m in misses] == [200, 200, 200]
    assert locked.status_code == 429
    assert "Too many attempts" in page_text(locked)
    assert submitted.reference not in page_text(locked)


def test_other_references_are_not_affected_and_the_lock_lifts_after_an_hour(
    english, settings, submitted
):
    settings.STATUS_CHECK_REFERENCE_MISSES = 1

    with time_machine.travel(MIDDAY, tick=False) as traveller:
        check(english, submitted.reference, "1990-01-01", ip="192.0.2.1")
        assert check(english, submitted.reference, "1990-05-12", "192.0.2.2").status_code == 429
        other = check(english, "PSP-LTG-26-ZZZZZZ", "1990-05-12", "192.0.2.3")
        traveller.shift(dt.timedelta(hours=1))
        again = check(english, submitted.reference, "1990-05-12", "192.0.2.4")

    assert other.status_code == 200
    assert again.status_code == 200
    assert submitted.reference in page_text(again)


def test_a_right_answer_does_not_count_as_a_miss(english, settings, submitted):
    settings.STATUS_CHECK_REFERENCE_MISSES = 1

    with time_machine.travel(MIDDAY, tick=False):
        first = check(english, submitted.reference, "1990-05-12", "192.0.2.1")
        second = check(english, submitted.reference, "1990-05-12", "192.0.2.2")

    assert (first.status_code, second.status_code) == (200, 200)
