"""Limited places and queue numbers (TRUST.md, "Limited resources").

Slots are counted in the database: a place is taken by one conditional
UPDATE (`booked < capacity`) and a CHECK constraint backs it up. Queue
numbers come from a per office/day/prefix counter row incremented in the
ticket's own transaction, with a unique constraint on the number.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from offices.models import Counter, Office


class Purpose(models.TextChoices):
    INTERVIEW = "interview", _("Interview and photo")
    CONSULTATION = "consultation", _("Video consultation")


# The purpose as a noun inside a sentence ("your interview is booked").
PURPOSE_IN_SENTENCE = {
    Purpose.INTERVIEW: _("interview"),
    Purpose.CONSULTATION: _("video consultation"),
}


class Prefix(models.TextChoices):
    PASSPORT = "P", _("Passports")
    PERMIT = "V", _("Visas and stay permits")
    WALK_IN = "W", _("Walk-in (no appointment)")
    INFORMATION = "K", _("Information and consultation")


class Topic(models.TextChoices):
    PASSPORT = "passport", _("Passport requirements")
    VISA = "visa", _("Visas for foreigners")
    STAY_PERMIT = "stay_permit", _("Stay permits (ITAS/ITAP)")
    APPLICATION = "application", _("An application in progress")
    OTHER = "other", _("Something else")


class Quota(models.Model):
    """How many people an office serves a day, split by how they come (set in the admin)."""

    office = models.OneToOneField(Office, on_delete=models.CASCADE, related_name="quota")
    slot_minutes = models.PositiveSmallIntegerField(
        _("slot length (minutes)"), default=15, help_text=_("Between 5 and 120 minutes.")
    )
    interview_capacity = models.PositiveSmallIntegerField(
        _("interview places per slot"),
        default=3,
        help_text=_("Regular quota: places booked online, per time slot."),
    )
    consultation_capacity = models.PositiveSmallIntegerField(
        _("video consultation places per slot"), default=1
    )
    same_day_quota = models.PositiveSmallIntegerField(
        _("same-day (walk-in) tickets per day"), default=40
    )
    # Part of every kiosk cookie: raising it (on the counters page) retires all kiosks at once.
    kiosk_generation = models.PositiveIntegerField(default=1, editable=False)
    priority_quota = models.PositiveSmallIntegerField(
        _("priority walk-in tickets per day"),
        default=20,
        help_text=_(
            "For the elderly, people with disabilities, pregnant women, and parents "
            "with infants who come without an appointment."
        ),
    )

    class Meta:
        verbose_name = _("daily quota")
        verbose_name_plural = _("daily quotas")
        constraints = [
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=120),
                name="queueing_quota_slot_minutes",
            ),
        ]

    def __str__(self) -> str:
        return str(self.office)

    def capacity_for(self, purpose: str) -> int:
        if purpose == Purpose.CONSULTATION:
            return self.consultation_capacity
        return self.interview_capacity


class SlotQuerySet(models.QuerySet):
    def bookable(self, now: dt.datetime | None = None):
        now = now or timezone.now()
        return self.filter(closed=False, starts_at__gt=now, booked__lt=F("capacity"))


class Slot(models.Model):
    """A time window at an office with a number of places."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="slots")
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    day = models.DateField(_("day"))  # the office's local date
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveSmallIntegerField(_("places"))
    booked = models.PositiveSmallIntegerField(_("booked"), default=0)
    closed = models.BooleanField(_("closed"), default=False)
    closed_reason = models.CharField(_("reason closed"), max_length=200, blank=True)

    objects = SlotQuerySet.as_manager()

    class Meta:
        ordering = ["office", "starts_at", "purpose"]
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        constraints = [
            models.CheckConstraint(
                condition=Q(booked__gte=0, booked__lte=F("capacity")),
                name="queueing_slot_not_overbooked",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="queueing_slot_ends_after_start"
            ),
            models.UniqueConstraint(
                fields=["office", "purpose", "starts_at"], name="queueing_slot_unique"
            ),
        ]
        indexes = [models.Index(fields=["office", "purpose", "day"])]

    def __str__(self) -> str:
        local = timezone.localtime(self.starts_at, self.office.tzinfo)
        return f"{self.office.code} {local:%Y-%m-%d %H.%M} {self.get_purpose_display()}"

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.booked)

    def local_start(self) -> dt.datetime:
        return timezone.localtime(self.starts_at, self.office.tzinfo)

    def local_end(self) -> dt.datetime:
        return timezone.localtime(self.ends_at, self.office.tzinfo)

    @property
    def time_range(self) -> str:
        """`08.00–08.15` in the office's own time (the `time` filter would use WIB)."""
        return f"{self.local_start():%H.%M}–{self.local_end():%H.%M}"


class Booking(models.Model):
    """An appointment: an interview for an application, or a video consultation."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")
        ATTENDED = "attended", _("Attended")
        NO_SHOW = "no_show", _("Missed")

    code = models.CharField(_("booking code"), max_length=8, unique=True, editable=False)
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings"
    )
    application = models.ForeignKey(
        "applications.Application",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bookings",
    )
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="bookings")
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices, blank=True)
    question = models.TextField(_("question"), max_length=1000, blank=True)
    room_token = models.CharField(max_length=40, blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    reschedules = models.PositiveSmallIntegerField(_("times rescheduled"), default=0)
    created_at = models.DateTimeField(_("booked at"), default=timezone.now, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    close_note = models.CharField(_("note"), max_length=200, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    hour_reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["slot__starts_at", "pk"]
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(status="active", application__isnull=False),
                name="queueing_one_active_booking_per_application",
            ),
            models.CheckConstraint(
                condition=Q(purpose="consultation") | Q(application__isnull=False),
                name="queueing_interview_has_application",
            ),
        ]
        indexes = [models.Index(fields=["status", "purpose"])]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("queueing:booking", args=[self.code])

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def room_url(self) -> str:
        if self.purpose != Purpose.CONSULTATION or not self.room_token:
            return ""
        return f"{settings.VIDEO_MEETING_BASE_URL.rstrip('/')}/Imigrasi-{self.room_token}"

    @property
    def code_display(self) -> str:
        return f"{self.code[:4]}-{self.code[4:]}"


class WaitlistEntry(models.Model):
    """A citizen waiting for a place on a full day; offered the next freed place for a while."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Place offered")
        ACCEPTED = "accepted", _("Accepted")
        EXPIRED = "expired", _("Offer expired")
        LEFT = "left", _("Left the waiting list")

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="waitlist")
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    day = models.DateField(_("day"))
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    application = models.ForeignKey(
        "applications.Application",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="waitlist_entries",
    )
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.WAITING
    )
    created_at = models.DateTimeField(_("joined at"), default=timezone.now)
    # An offered place is held (counted as booked) until the offer is taken or runs out.
    offered_slot = models.ForeignKey(
        Slot, on_delete=models.SET_NULL, null=True, blank=True, related_name="offers"
    )
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(_("offer open until"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("waiting list entry")
        verbose_name_plural = _("waiting list")
        constraints = [
            models.UniqueConstraint(
                fields=["citizen", "office", "purpose", "day"],
                condition=Q(status__in=["waiting", "offered"]),
                name="queueing_waitlist_once_per_day",
            ),
        ]
        indexes = [models.Index(fields=["office", "purpose", "day", "status"])]

    def __str__(self) -> str:
        return f"{self.office.code} {self.day} {self.citizen}"


class TicketSequence(models.Model):
    """The last number given per office, day and prefix (the gapless counter)."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    prefix = models.CharField(max_length=1, choices=Prefix.choices)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["office", "day", "prefix"], name="queueing_sequence_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.office_id} {self.day} {self.prefix}: {self.last_number}"


class DayUsage(models.Model):
    """Same-day and priority walk-in tickets given so far (drawn with a conditional update)."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    same_day = models.PositiveSmallIntegerField(default=0)
    priority = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["office", "day"], name="queueing_day_usage_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.office_id} {self.day}: {self.same_day} + {self.priority}"


class Ticket(models.Model):
    """A queue number on the day (e.g. P-012)."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        CALLED = "called", _("Called")
        SERVING = "serving", _("Being served")
        DONE = "done", _("Done")
        NO_SHOW = "no_show", _("Did not come when called")

    class Priority(models.TextChoices):
        NONE = "", _("None")
        ELDERLY = "elderly", _("Elderly (60 or over)")
        DISABLED = "disabled", _("Person with a disability")
        PREGNANT = "pregnant", _("Pregnant")
        INFANT = "infant", _("With an infant")

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="tickets")
    day = models.DateField(_("day"))
    prefix = models.CharField(_("prefix"), max_length=1, choices=Prefix.choices)
    number = models.PositiveIntegerField(_("number"))
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, blank=True, default=""
    )
    booking = models.OneToOneField(
        Booking, on_delete=models.PROTECT, null=True, blank=True, related_name="ticket"
    )
    token = models.CharField(max_length=32, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    counter = models.ForeignKey(
        Counter, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    served_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    announced_at = models.DateTimeField(null=True, blank=True)  # last call or recall
    recalls = models.PositiveSmallIntegerField(_("recalls"), default=0)
    served_at = models.DateTimeField(_("service started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    near_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["day", "prefix", "number"]
        verbose_name = _("queue ticket")
        verbose_name_plural = _("queue tickets")
        constraints = [
            models.UniqueConstraint(
                fields=["office", "day", "prefix", "number"], name="queueing_ticket_unique_number"
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="queueing_ticket_number_1"),
        ]
        indexes = [
            models.Index(
                fields=["office", "day", "status", "prefix"], name="queueing_ticket_waiting"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse("queueing:ticket", args=[self.token])

    @property
    def label(self) -> str:
        return f"{self.prefix}-{self.number:03d}"

    @property
    def is_priority(self) -> bool:
        return bool(self.priority)


class CounterShift(models.Model):
    """An officer running a counter for some prefixes; open until closed."""

    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="shifts")
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="counter_shifts"
    )
    prefixes = models.CharField(_("prefixes served"), max_length=8)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("counter shift")
        verbose_name_plural = _("counter shifts")
        permissions = [("operate_counter", "Can run a counter and issue queue tickets")]
        constraints = [
            models.UniqueConstraint(
                fields=["counter"],
                condition=Q(closed_at__isnull=True),
                name="queueing_one_open_shift_per_counter",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.counter} {self.prefixes}"
