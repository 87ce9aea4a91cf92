"""Counter work and booking administration are recorded, scoped to the counter's office."""

from __future__ import annotations

import pytest
from django.urls import reverse

from imigrasi.errors import ServiceError
from offices.models import Counter
from queueing import counters, tickets
from queueing.models import Quota, Slot, Ticket
from tests.queueing.conftest import first_slot, open_moment

from .conftest import ADDRESS, entries

pytestmark = pytest.mark.django_db

SLOTS = reverse("admin:queueing_slot_changelist")


@pytest.fixture
def opening(office_a, time_machine):
    """10.00 on the office's next working day."""
    moment = open_moment(office_a)
    time_machine.move_to(moment, tick=False)
    return moment


@pytest.fixture
def counter_1(office_a):
    return Counter.objects.create(office=office_a, number=1, name="Loket 1")


def action(client, counter, name: str, data=None):
    return client.post(f"/petugas/loket/{counter.pk}/{name}/", data or {}, REMOTE_ADDR=ADDRESS)


def test_each_counter_action_writes_one_entry_in_order(client, budi, office_a, counter_1, opening):
    client.force_login(budi)
    tickets.walk_in(office=office_a)
    tickets.walk_in(office=office_a)

    responses = [action(client, counter_1, "open", {"prefixes": ["W"]})]
    responses.append(action(client, counter_1, "call"))
    first = Ticket.objects.get(status=Ticket.Status.CALLED)
    for step in ("recall", "start", "finish"):
        responses.append(action(client, counter_1, step, {"ticket": first.pk}))
    responses.append(action(client, counter_1, "call"))
    second = Ticket.objects.get(status=Ticket.Status.CALLED)
    responses.append(action(client, counter_1, "skip", {"ticket": second.pk}))
    responses.append(action(client, counter_1, "close"))

    assert [r.status_code for r in responses] == [302] * 8
    trail = list(entries("counter_action").order_by("pk"))
    assert [e.detail["step"] for e in trail] == [
        "shift_open",
        "call",
        "recall",
        "start",
        "finish",
        "call",
        "skip",
        "shift_close",
    ]
    assert {(e.actor_id, e.office_id, e.ip) for e in trail} == {(budi.pk, office_a.pk, ADDRESS)}
    assert [e.object_label for e in trail[1:5]] == [first.label] * 4
    assert trail[1].object_type == "queueing.ticket" and trail[1].object_id == str(first.pk)
    assert trail[0].object_type == "queueing.countershift"
    assert trail[0].detail == {"step": "shift_open", "counter": 1, "prefixes": "W"}


def test_a_refused_counter_action_leaves_no_entry(budi, counter_1, opening):
    with pytest.raises(ServiceError):
        counters.call_next(counter=counter_1, officer=budi)

    assert not entries("counter_action").exists()


def test_closing_and_reopening_a_day_are_recorded(client, dewi, office_a):
    slot = first_slot(office_a)
    client.force_login(dewi)

    client.post(SLOTS, {"action": "close_days", "_selected_action": [slot.pk]}, REMOTE_ADDR=ADDRESS)
    client.post(SLOTS, {"action": "reopen_days", "_selected_action": [slot.pk]})

    closed, reopened = entries("booking_admin").order_by("pk")
    assert (closed.actor, closed.actor_role, closed.office, closed.ip) == (
        dewi,
        "supervisor",
        office_a,
        ADDRESS,
    )
    assert closed.object_label == f"{office_a.code} {slot.day:%Y-%m-%d}"
    assert closed.detail == {
        "step": "day_closed",
        "day": slot.day.isoformat(),
        "bookings_cancelled": 0,
    }
    assert reopened.detail["step"] == "day_reopened"
    assert (
        reopened.detail["slots_reopened"]
        == Slot.objects.filter(office=office_a, day=slot.day).count()
    )


def test_a_capacity_change_is_recorded_with_before_and_after(client, budi, office_a):
    slot = first_slot(office_a)
    client.force_login(budi)

    response = client.post(
        reverse("admin:queueing_slot_change", args=[slot.pk]),
        {"capacity": "6", "closed_reason": ""},
        REMOTE_ADDR=ADDRESS,
    )

    assert response.status_code == 302
    entry = entries("booking_admin").get()
    assert (entry.actor, entry.office, entry.ip) == (budi, office_a, ADDRESS)
    assert (entry.object_type, entry.object_id) == ("queueing.slot", str(slot.pk))
    assert entry.detail == {"step": "capacity", "from": 3, "to": 6}


def test_a_capacity_refused_below_the_places_booked_is_not_recorded(client, budi, office_a):
    slot = first_slot(office_a)
    Slot.objects.filter(pk=slot.pk).update(booked=2)
    client.force_login(budi)

    client.post(reverse("admin:queueing_slot_change", args=[slot.pk]), {"capacity": "1"})

    assert not entries("booking_admin").exists()


def test_a_quota_change_is_recorded(client, dewi, office_a):
    quota, _ = Quota.objects.get_or_create(office=office_a)
    client.force_login(dewi)
    data = {
        "slot_minutes": quota.slot_minutes,
        "interview_capacity": quota.interview_capacity + 2,
        "consultation_capacity": quota.consultation_capacity,
        "same_day_quota": quota.same_day_quota,
        "priority_quota": quota.priority_quota,
        "office": office_a.pk,
    }

    response = client.post(reverse("admin:queueing_quota_change", args=[quota.pk]), data)

    assert response.status_code == 302
    entry = entries("booking_admin").get()
    assert (entry.actor, entry.office) == (dewi, office_a)
    assert entry.detail == {
        "step": "quota_changed",
        "interview_capacity": quota.interview_capacity + 2,
    }
