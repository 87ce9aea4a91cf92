from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OfficeQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def for_staff(self, user):
        """Offices whose data `user` may see: all for superusers, else their memberships."""
        if user.is_superuser:
            return self
        return self.filter(memberships__user=user).distinct()


class Office(models.Model):
    """A regional immigration office (Kantor Imigrasi)."""

    class TimeZone(models.TextChoices):
        WIB = "Asia/Jakarta", "WIB (Asia/Jakarta)"
        WITA = "Asia/Makassar", "WITA (Asia/Makassar)"
        WIT = "Asia/Jayapura", "WIT (Asia/Jayapura)"

    code = models.CharField(
        _("code"),
        max_length=3,
        unique=True,
        validators=[
            RegexValidator(
                r"^[A-Z]{3}$", _("Three capital letters used in application references, e.g. LTG.")
            )
        ],
        help_text=_("Three capital letters used in application references, e.g. LTG."),
    )
    name = models.CharField(_("name"), max_length=150)
    address = models.TextField(_("address"), max_length=500)
    region = models.CharField(
        _("region"), max_length=150, help_text=_("Regency/city and province.")
    )
    time_zone = models.CharField(
        _("time zone"), max_length=32, choices=TimeZone.choices, default=TimeZone.WIB
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("email"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = OfficeQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("office")
        verbose_name_plural = _("offices")

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def local_now(self) -> dt.datetime:
        return dt.datetime.now(tz=self.tzinfo)

    @property
    def time_zone_abbreviation(self) -> str:
        return self.get_time_zone_display().split(" ")[0]

    def opening_summary(self) -> list[tuple[str, dt.time, dt.time]]:
        """Consecutive days with the same hours folded: ("Senin–Kamis", 08:00, 16:00)."""
        groups: list[list] = []
        for hours in sorted(self.opening_hours.all(), key=lambda h: h.weekday):
            last = groups[-1] if groups else None
            if (
                last
                and last[1].weekday == hours.weekday - 1
                and (last[2], last[3]) == (hours.opens_at, hours.closes_at)
            ):
                last[1] = hours
            else:
                groups.append([hours, hours, hours.opens_at, hours.closes_at])
        summary = []
        for first, last, opens, closes in groups:
            label = first.get_weekday_display()
            if last.weekday != first.weekday:
                label = f"{label}–{last.get_weekday_display()}"
            summary.append((label, opens, closes))
        return summary

    def is_holiday(self, day: dt.date) -> bool:
        return Holiday.objects.on(day, office=self).exists()

    def is_open_at(self, moment: dt.datetime) -> bool:
        """Open at `moment` (aware) by the office's hours and holidays."""
        local = moment.astimezone(self.tzinfo)
        if self.is_holiday(local.date()):
            return False
        return self.opening_hours.filter(
            weekday=local.weekday(), opens_at__lte=local.time(), closes_at__gt=local.time()
        ).exists()


class OpeningHours(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))

    class Meta:
        ordering = ["office", "weekday"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.UniqueConstraint(fields=["office", "weekday"], name="offices_hours_one_per_day"),
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")),
                name="offices_hours_close_after_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H.%M}-{self.closes_at:%H.%M}"


class Counter(models.Model):
    """A service desk (loket) where an officer calls queue numbers."""

    class Purpose(models.TextChoices):
        PASSPORT = "passport", _("Passports")
        PERMIT = "permit", _("Visas and stay permits")
        INFORMATION = "information", _("Information and consultation")
        GENERAL = "general", _("All services")

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="counters")
    number = models.PositiveSmallIntegerField(_("number"))
    name = models.CharField(_("name"), max_length=60)
    purpose = models.CharField(
        _("purpose"), max_length=20, choices=Purpose.choices, default=Purpose.GENERAL
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["office", "number"]
        verbose_name = _("counter")
        verbose_name_plural = _("counters")
        constraints = [
            models.UniqueConstraint(
                fields=["office", "number"], name="offices_counter_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.office.code} {self.name}"


class HolidayQuerySet(models.QuerySet):
    def on(self, day: dt.date, *, office: Office | None = None):
        """Holidays on `day`: national ones plus, when given, the office's own."""
        scope = Q(office__isnull=True)
        if office is not None:
            scope |= Q(office=office)
        return self.filter(scope, date=day)


class Holiday(models.Model):
    """A day an office is closed: national (no office) or local to one office."""

    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=150)
    office = models.ForeignKey(
        Office,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="holidays",
        help_text=_("Leave empty for a national holiday."),
    )

    objects = HolidayQuerySet.as_manager()

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        constraints = [
            models.UniqueConstraint(
                fields=["date"],
                condition=Q(office__isnull=True),
                name="offices_holiday_national_unique",
            ),
            models.UniqueConstraint(
                fields=["date", "office"],
                condition=Q(office__isnull=False),
                name="offices_holiday_local_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class StaffMembership(models.Model):
    """Which offices an officer (petugas) or supervisor works for."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="office_memberships"
    )
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="memberships")
    since = models.DateField(_("since"), auto_now_add=True)

    class Meta:
        verbose_name = _("staff membership")
        verbose_name_plural = _("staff memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "office"], name="offices_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.office.code}"
