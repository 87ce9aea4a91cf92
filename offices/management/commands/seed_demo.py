from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from accounts.models import User
from offices import demo, roles
from offices.models import Counter, Holiday, Office, OpeningHours, StaffMembership

# Known only in DEBUG: a production database never gets a guessable password.
DEMO_PASSWORD = "Demo-Portal-2026!"  # noqa: S105  # nosec B105  # demo logins, set only when DEBUG (see _user)
# Staff's second step in the demo (DEBUG only): single-use, restored by every run.
DEMO_BACKUP_CODES = ("demo0001", "demo0002", "demo0003", "demo0004", "demo0005")


class Command(BaseCommand):
    help = "Create the demo offices, counters, holidays and people. Safe to run again."

    @transaction.atomic
    def handle(self, *args, **options):
        offices = {spec["code"]: self._office(spec) for spec in demo.OFFICES}
        self._holidays()
        citizen = self._user(demo.CITIZEN, staff=False)
        people = [("citizen", citizen)]
        for spec in demo.OFFICERS:
            people.append(("officer", self._staff(spec, offices, roles.OFFICER)))
        people.append(("supervisor", self._staff(demo.SUPERVISOR, offices, roles.SUPERVISOR)))
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {len(offices)} offices."))
        if settings.DEBUG:
            for _role, user in people[1:]:
                self._demo_second_factor(user)
            self.stdout.write(f"Demo logins (password: {DEMO_PASSWORD}):")
            for role, user in people:
                self.stdout.write(f"  {role:<10} {user.email}")
            self.stdout.write(
                "  Staff also pass two-step verification: type any of the backup codes "
                f"{', '.join(DEMO_BACKUP_CODES)} (each works once; all come back on the "
                "next make run)."
            )

    def _office(self, spec: dict) -> Office:
        office, _ = Office.objects.update_or_create(code=spec["code"], defaults=spec)
        for weekday, opens_at, closes_at in demo.OPENING_HOURS:
            OpeningHours.objects.update_or_create(
                office=office,
                weekday=weekday,
                defaults={"opens_at": opens_at, "closes_at": closes_at},
            )
        for number, name, purpose in demo.COUNTERS:
            Counter.objects.update_or_create(
                office=office, number=number, defaults={"name": name, "purpose": purpose}
            )
        return office

    def _holidays(self) -> None:
        this_year = timezone.localdate().year
        for year in (this_year, this_year + 1):
            for month, day, name in demo.FIXED_NATIONAL_HOLIDAYS:
                Holiday.objects.update_or_create(
                    date=dt.date(year, month, day), office=None, defaults={"name": name}
                )

    def _user(self, spec: dict, *, staff: bool) -> User:
        fields = {k: v for k, v in spec.items() if k not in ("email", "offices", "nik")}
        user = User.objects.filter(email=spec["email"]).first() or User(email=spec["email"])
        for name, value in fields.items():
            setattr(user, name, value)
        if "nik" in spec and not User.objects.with_nik(spec["nik"]).filter(pk=user.pk).exists():
            user.set_nik(spec["nik"])
        user.is_staff = staff
        user.email_verified_at = user.email_verified_at or timezone.now()
        user.privacy_consent_at = user.privacy_consent_at or (None if staff else timezone.now())
        if settings.DEBUG and not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
        elif not user.pk:
            # Random and never shown: the person sets their own through
            # password reset (Django sends no reset to unusable passwords).
            user.set_password(secrets.token_urlsafe(32))
        user.save()
        return user

    def _demo_second_factor(self, user: User) -> None:
        """Known backup codes for a demo member of staff (DEBUG only), so trying the
        admin needs no authenticator app; a real device set up meanwhile is kept."""
        device, _ = StaticDevice.objects.get_or_create(
            user=user, name="demo", defaults={"confirmed": True}
        )
        device.token_set.all().delete()
        StaticToken.objects.bulk_create(
            StaticToken(device=device, token=code) for code in DEMO_BACKUP_CODES
        )

    def _staff(self, spec: dict, offices: dict[str, Office], role: str) -> User:
        user = self._user(spec, staff=True)
        user.groups.set([Group.objects.get(name=role)])
        for code in spec["offices"]:
            StaffMembership.objects.get_or_create(user=user, office=offices[code])
        return user
