"""Service catalogue, applications, their documents and status history."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts import identity, pii

# One blind index for every NIK: an officer's search finds accounts and applicants alike.
from accounts.models import NIK_PURPOSE, EncryptedNikMixin, User  # noqa: F401
from applications.workflow import Status

PASSPORT_PURPOSE = "passport"


def _in_language(obj, field: str) -> str:
    english = getattr(obj, f"{field}_en", "")
    if translation.get_language() == "en" and english:
        return english
    return getattr(obj, f"{field}_id")


class ServiceQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Service(models.Model):
    """One thing a citizen can apply for, e.g. a new electronic passport."""

    class Category(models.TextChoices):
        PASSPORT = "passport", _("Passports")
        VISIT_PERMIT = "visit_permit", _("Visit stay permits")
        STAY_PERMIT = "stay_permit", _("Limited and permanent stay permits")
        REENTRY_PERMIT = "reentry_permit", _("Re-entry permits")

    class Details(models.TextChoices):
        PASSPORT = "passport", _("Passport: travel purpose and destination")
        REPLACEMENT = "replacement", _("Passport replacement: old passport number")
        PERMIT = "permit", _("Permit: nationality, passport and sponsor")

    code = models.SlugField(_("code"), max_length=60, unique=True)
    reference_prefix = models.CharField(
        _("reference prefix"),
        max_length=3,
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Three capital letters, e.g. PSP."))],
        help_text=_("Three capital letters that start the application reference, e.g. PSP."),
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    details = models.CharField(_("details asked"), max_length=20, choices=Details.choices)
    name_id = models.CharField(_("name (Indonesian)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150)
    description_id = models.TextField(_("description (Indonesian)"), max_length=2000)
    description_en = models.TextField(_("description (English)"), max_length=2000)
    processing_days = models.PositiveSmallIntegerField(
        _("processing target (working days)"),
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("Working days from submission to the document being ready."),
    )
    needs_interview = models.BooleanField(_("interview needed"), default=True)
    is_active = models.BooleanField(_("open for applications"), default=True)
    ordering = models.PositiveSmallIntegerField(_("order"), default=0)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["ordering", "code"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("applications:service", args=[self.code])

    @property
    def name(self) -> str:
        return _in_language(self, "name")

    @property
    def description(self) -> str:
        return _in_language(self, "description")

    def tariffs_on(self, day: dt.date):
        return self.tariffs.valid_on(day)

    def fee_on(self, day: dt.date) -> int | None:
        """The fee in rupiah on `day` (sum of the tariff rows in force), None if none is."""
        return self.tariffs_on(day).aggregate(total=Sum("amount"))["total"]

    def due_date_from(self, moment: dt.datetime, *, office=None) -> dt.date:
        """`processing_days` working days after `moment`, skipping weekends and holidays."""
        from offices.models import Holiday

        day = timezone.localdate(moment)
        holidays = set(
            Holiday.objects.filter(
                Q(office__isnull=True) | Q(office=office),
                date__gt=day,
                date__lte=day + dt.timedelta(days=self.processing_days * 3 + 30),
            ).values_list("date", flat=True)
        )
        left = self.processing_days
        while left:
            day += dt.timedelta(days=1)
            if day.weekday() < 5 and day not in holidays:
                left -= 1
        return day


class TariffQuerySet(models.QuerySet):
    def valid_on(self, day: dt.date):
        return self.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day), valid_from__lte=day)


class Tariff(models.Model):
    """A fee (PNBP) row in force between two dates: a regulation change is a new row."""

    class Kind(models.TextChoices):
        BASE = "base", _("Service fee")
        SURCHARGE = "surcharge", _("Surcharge")

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="tariffs")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.BASE)
    label_id = models.CharField(_("label (Indonesian)"), max_length=200)
    label_en = models.CharField(_("label (English)"), max_length=200)
    amount = models.PositiveIntegerField(_("amount (Rp)"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=100)
    verified = models.BooleanField(
        _("verified against the regulation"),
        default=False,
        help_text=_("Unverified rows are shown to administrators as “to be confirmed”."),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = TariffQuerySet.as_manager()

    class Meta:
        ordering = ["service", "-valid_from", "kind"]
        verbose_name = _("tariff")
        verbose_name_plural = _("tariffs")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="applications_tariff_dates_ordered",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="applications_tariff_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.label_id}: Rp {self.amount:,}".replace(",", ".")

    def clean(self) -> None:
        """Two service fees (or the same surcharge twice) in force at once would add up."""
        from django.core.exceptions import ValidationError

        # valid_from is None here when its own field failed validation (full_clean runs clean()).
        if self.valid_to and self.valid_from and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("The end date is before the start date.")})
        if not self.service_id or not self.valid_from:
            return
        overlapping = Tariff.objects.filter(service_id=self.service_id, kind=self.kind).exclude(
            pk=self.pk
        )
        if self.kind == self.Kind.SURCHARGE:
            overlapping = overlapping.filter(label_id=self.label_id)
        overlapping = overlapping.filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=self.valid_from)
        )
        if self.valid_to:
            overlapping = overlapping.filter(valid_from__lte=self.valid_to)
        clash = overlapping.first()
        if clash:
            raise ValidationError(
                _(
                    "Another row (%(other)s, from %(start)s) is in force in the same period. "
                    "Close it with an end date first."
                )
                % {"other": clash.label_id, "start": clash.valid_from}
            )

    @property
    def label(self) -> str:
        return _in_language(self, "label")

    def in_force_on(self, day: dt.date) -> bool:
        """As `Tariff.objects.valid_on`, for rows already loaded (prefetched)."""
        return self.valid_from <= day and (self.valid_to is None or self.valid_to >= day)


class Requirement(models.Model):
    """A document a service asks for, with the file types and size it accepts."""

    class FileType(models.TextChoices):
        PDF = "pdf", "PDF"
        JPEG = "jpeg", "JPEG"
        PNG = "png", "PNG"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="requirements")
    code = models.SlugField(_("code"), max_length=40)
    name_id = models.CharField(_("name (Indonesian)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150)
    help_id = models.CharField(_("help (Indonesian)"), max_length=300, blank=True)
    help_en = models.CharField(_("help (English)"), max_length=300, blank=True)
    accepted_types = models.CharField(
        _("accepted types"),
        max_length=20,
        default="pdf,jpeg,png",
        validators=[RegexValidator(r"^(pdf|jpeg|png)(,(pdf|jpeg|png))*$")],
        help_text=_("Comma-separated: pdf, jpeg, png."),
    )
    max_size_kb = models.PositiveIntegerField(
        _("size limit (KB)"), default=2048, validators=[MaxValueValidator(10240)]
    )
    is_required = models.BooleanField(_("required"), default=True)
    ordering = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["service", "ordering", "pk"]
        verbose_name = _("requirement")
        verbose_name_plural = _("requirements")
        constraints = [
            models.UniqueConstraint(
                fields=["service", "code"], name="applications_requirement_code_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return _in_language(self, "name")

    @property
    def help(self) -> str:
        return _in_language(self, "help")

    @property
    def types(self) -> list[str]:
        return [t for t in self.accepted_types.split(",") if t]

    @property
    def types_display(self) -> str:
        return ", ".join(t.upper() for t in self.types)


class Person(EncryptedNikMixin, models.Model):
    """Someone an account applies for: the account holder or a family member (max 5)."""

    MAX_FAMILY = 5

    class Relationship(models.TextChoices):
        SELF = "self", _("Myself")
        SPOUSE = "spouse", _("Husband or wife")
        CHILD = "child", _("Child")
        PARENT = "parent", _("Parent")
        SIBLING = "sibling", _("Brother or sister")
        OTHER = "other", _("Other family member")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="persons"
    )
    relationship = models.CharField(_("relationship"), max_length=10, choices=Relationship.choices)
    full_name = models.CharField(_("full name"), max_length=150)
    # Optional: a foreign spouse applying for a stay permit has no NIK.
    nik_encrypted = models.TextField(blank=True, editable=False)
    nik_index = models.CharField(  # noqa: DJ001 (NULL: the unique index skips people without one)
        max_length=64, null=True, blank=True, editable=False
    )
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    place_of_birth = models.CharField(_("place of birth"), max_length=100, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=User.Sex.choices, blank=True)
    address = models.TextField(_("address"), max_length=500, blank=True)
    father_name = models.CharField(_("father's name"), max_length=150, blank=True)
    mother_name = models.CharField(_("mother's name"), max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["owner", "-relationship", "created_at"]
        verbose_name = _("applicant person")
        verbose_name_plural = _("applicant persons")
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "nik_index"],
                condition=Q(nik_index__isnull=False),
                name="applications_person_nik_once_per_account",
            ),
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(relationship="self"),
                name="applications_person_one_self",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name


class ApplicationQuerySet(models.QuerySet):
    def for_applicant(self, user):
        return self.filter(applicant=user)

    def open(self):
        from applications.workflow import OPEN

        return self.filter(status__in=OPEN)

    def drafts(self):
        return self.filter(status=Status.DRAFT)

    def not_collected(self, *, days: int = 30):
        """Ready for longer than `days` and still not handed over: flagged to officers."""
        return self.filter(
            status=Status.READY, ready_at__lt=timezone.now() - dt.timedelta(days=days)
        )

    def overdue(self):
        """Applications still being processed past the service's target date."""
        return self.open().exclude(status=Status.READY).filter(due_date__lt=timezone.localdate())


class Application(EncryptedNikMixin, models.Model):
    class TravelPurpose(models.TextChoices):
        TOURISM = "tourism", _("Tourism")
        WORK = "work", _("Work")
        STUDY = "study", _("Study")
        PILGRIMAGE = "pilgrimage", _("Umrah or hajj")
        FAMILY = "family", _("Visiting family")
        BUSINESS = "business", _("Business")
        MEDICAL = "medical", _("Medical treatment")
        OTHER = "other", _("Other")

    class Delivery(models.TextChoices):
        PICKUP = "pickup", _("Pick up at the office")
        POST = "post", _("Delivery by post")

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="applications")
    office = models.ForeignKey(
        "offices.Office", on_delete=models.PROTECT, related_name="applications"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("account"),
    )
    person = models.ForeignKey(
        Person, on_delete=models.SET_NULL, null=True, blank=True, related_name="applications"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, editable=False
    )
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    # Where a revision goes back to when the citizen resubmits.
    resume_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    step_reached = models.PositiveSmallIntegerField(default=1)

    # The applicant as submitted (copied from the person; kept even if they change later).
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    nik_encrypted = models.TextField(blank=True, editable=False)
    nik_index = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    place_of_birth = models.CharField(_("place of birth"), max_length=100, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=User.Sex.choices, blank=True)
    address = models.TextField(_("address"), max_length=500, blank=True)
    father_name = models.CharField(_("father's name"), max_length=150, blank=True)
    mother_name = models.CharField(_("mother's name"), max_length=150, blank=True)
    # The NIK's encoded birth date or sex differs from the applicant's: shown to
    # officers to check against the KTP, never a reason to refuse by itself.
    nik_mismatch = models.BooleanField(_("NIK does not match birth date/sex"), default=False)

    # Details per service.
    travel_purpose = models.CharField(
        pgettext_lazy("travel or stay", "purpose"),
        max_length=20,
        choices=TravelPurpose.choices,
        blank=True,
    )
    destination = models.CharField(_("destination country"), max_length=100, blank=True)
    nationality = models.CharField(_("nationality"), max_length=100, blank=True)
    passport_number_encrypted = models.TextField(blank=True, editable=False)
    passport_number_index = models.CharField(max_length=64, blank=True, editable=False)
    sponsor_name = models.CharField(_("sponsor's name"), max_length=150, blank=True)
    sponsor_address = models.TextField(_("sponsor's address"), max_length=500, blank=True)
    sponsor_phone = models.CharField(_("sponsor's phone"), max_length=20, blank=True)

    fee_amount = models.PositiveIntegerField(_("fee (Rp)"), null=True, blank=True, editable=False)
    declaration_at = models.DateTimeField(_("declaration accepted at"), null=True, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    due_date = models.DateField(_("target date"), null=True, blank=True, editable=False)
    ready_at = models.DateTimeField(_("ready since"), null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)

    delivery_method = models.CharField(
        _("pickup or delivery"), max_length=10, choices=Delivery.choices, blank=True
    )
    delivery_address = models.TextField(_("delivery address"), max_length=500, blank=True)
    courier = models.CharField(_("courier"), max_length=60, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=60, blank=True)
    # Set when officers were told the document has waited 30 days uncollected.
    uncollected_flagged_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "service"],
                condition=Q(status="draft"),
                name="applications_one_draft_per_person_service",
            ),
        ]
        indexes = [
            models.Index(fields=["office", "status"], name="applications_office_status_idx"),
            models.Index(fields=["applicant", "-created_at"], name="applications_applicant_idx"),
            models.Index(fields=["office", "submitted_at"], name="applications_submitted_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("applications:detail", args=[self.reference])

    def check_nik(self) -> None:
        """Refresh `nik_mismatch` from the NIK, birth date and sex now on the application."""
        self.nik_mismatch = bool(self.nik_encrypted) and not identity.nik_matches_person(
            self.nik, date_of_birth=self.date_of_birth, sex=self.sex
        )

    @property
    def passport_number(self) -> str:
        return pii.decrypt(self.passport_number_encrypted) if self.passport_number_encrypted else ""

    @property
    def passport_number_masked(self) -> str:
        number = self.passport_number
        return number[:1] + "*" * max(0, len(number) - 3) + number[-2:] if number else ""

    def set_passport_number(self, number: str) -> None:
        number = "".join(number.split()).upper()
        if not number:
            self.passport_number_encrypted = self.passport_number_index = ""
            return
        self.passport_number_encrypted = pii.encrypt(number)
        self.passport_number_index = pii.blind_index(number, purpose=PASSPORT_PURPOSE)

    @property
    def status_label(self) -> str:
        return Status(self.status).label

    @property
    def is_draft(self) -> bool:
        return self.status == Status.DRAFT

    @property
    def documents_editable(self) -> bool:
        return self.status in {Status.DRAFT, Status.REVISION_REQUESTED}

    @property
    def is_overdue(self) -> bool:
        from applications.workflow import OPEN

        return bool(
            self.due_date
            and self.status in OPEN
            and self.status != Status.READY
            and self.due_date < timezone.localdate()
        )

    @property
    def is_not_collected(self) -> bool:
        return bool(
            self.status == Status.READY
            and self.ready_at
            and self.ready_at < timezone.now() - dt.timedelta(days=30)
        )


class Document(models.Model):
    """One uploaded file answering one requirement, with its own verification state."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for verification")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    requirement = models.ForeignKey(Requirement, on_delete=models.PROTECT, related_name="+")
    # Server-chosen name under the private storage root (uuid.ext), never the upload's name.
    file = models.FileField(_("file"), max_length=200, editable=False)
    original_name = models.CharField(_("original file name"), max_length=120, editable=False)
    content_type = models.CharField(max_length=40, editable=False)
    size = models.PositiveIntegerField(_("size (bytes)"), editable=False)
    sha256 = models.CharField("SHA-256", max_length=64, editable=False)
    state = models.CharField(
        _("verification"), max_length=10, choices=State.choices, default=State.PENDING
    )
    rejection_reason = models.CharField(_("reason"), max_length=300, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    # The file was deleted DOCUMENT_RETENTION_DAYS after the application closed
    # (applications.retention); the row stays as the record of what was sent.
    purged_at = models.DateTimeField(_("file deleted at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["application_id", "requirement__ordering", "pk"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "requirement"], name="applications_one_document_each"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.requirement_id}"

    def get_absolute_url(self) -> str:
        return reverse("applications:document", args=[self.application.reference, self.pk])

    @property
    def extension(self) -> str:
        return self.file.name.rsplit(".", 1)[-1] if self.file.name else ""

    @property
    def is_purged(self) -> bool:
        return self.purged_at is not None


class SupersededDocument(models.Model):
    """A file replaced after submission: kept, because the receipt and officers saw it."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="earlier")
    file = models.FileField(max_length=200, editable=False)
    original_name = models.CharField(max_length=120, editable=False)
    sha256 = models.CharField("SHA-256", max_length=64, editable=False)
    state = models.CharField(max_length=10, choices=Document.State.choices, editable=False)
    rejection_reason = models.CharField(max_length=300, blank=True, editable=False)
    uploaded_at = models.DateTimeField(editable=False)
    superseded_at = models.DateTimeField(default=timezone.now, editable=False)
    purged_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["document", "-superseded_at"]
        verbose_name = _("earlier version of a document")
        verbose_name_plural = _("earlier versions of documents")

    def __str__(self) -> str:
        return f"{self.document_id} ({self.superseded_at:%Y-%m-%d %H:%M})"


class StatusEvent(models.Model):
    """One move of the status machine: the citizen's timeline. Append-only."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(_("from"), max_length=20, choices=Status.choices)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    actor = models.CharField(_("role"), max_length=10)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("status event")
        verbose_name_plural = _("status events")

    def __str__(self) -> str:
        return f"{self.application_id}: {self.from_status} → {self.to_status}"


class Receipt(models.Model):
    """The application receipt (tanda terima) PDF, rendered once after submission."""

    application = models.OneToOneField(
        Application, on_delete=models.CASCADE, related_name="receipt"
    )
    file = models.FileField(max_length=200, editable=False)
    sha256 = models.CharField("SHA-256", max_length=64, editable=False)
    rendered_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("application receipt")
        verbose_name_plural = _("application receipts")

    def __str__(self) -> str:
        return f"{self.application_id}"
