from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from accounts import identity, pii

NIK_PURPOSE = "nik"
# What an anonymised account is called; stored in English, translated where shown.
DELETED_NAME = gettext_noop("(deleted account)")


class EncryptedNikMixin:
    """The NIK as Fernet ciphertext (`nik_encrypted`) plus its blind index (`nik_index`)."""

    @property
    def nik(self) -> str:
        """The NIK in clear; callers showing it in full must hold the permission."""
        return pii.decrypt(self.nik_encrypted) if self.nik_encrypted else ""

    @property
    def nik_masked(self) -> str:
        return identity.mask_nik(self.nik) if self.nik_encrypted else ""

    def set_nik(self, nik: str) -> None:
        nik = identity.normalise_nik(nik)
        self.nik_encrypted = pii.encrypt(nik)
        self.nik_index = pii.blind_index(nik, purpose=NIK_PURPOSE)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email: str):
        return self.get(email__iexact=email)

    def with_nik(self, nik: str):
        """Users whose NIK is exactly `nik`, found through the blind index."""
        return self.filter(
            nik_index=pii.blind_index(identity.normalise_nik(nik), purpose=NIK_PURPOSE)
        )

    def _create(self, email: str, password: str | None, **fields):
        if not email:
            raise ValueError("An email address is required.")
        nik = fields.pop("nik", None)
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if nik:
            user.set_nik(nik)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields):
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        fields.setdefault("email_verified_at", timezone.now())
        return self._create(email, password, **fields)


class User(EncryptedNikMixin, AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an email address: citizen (pemohon) or staff."""

    class Sex(models.TextChoices):
        MALE = identity.Sex.MALE, _("Male")
        FEMALE = identity.Sex.FEMALE, _("Female")

    class Language(models.TextChoices):
        INDONESIAN = "id", "Bahasa Indonesia"
        ENGLISH = "en", "English"

    email = models.EmailField(_("email address"), max_length=254, unique=True)
    full_name = models.CharField(_("full name"), max_length=150)
    # NIK (Nomor Induk Kependudukan, national identity number): Fernet
    # ciphertext plus a keyed hash for lookup and uniqueness; never in clear.
    nik_encrypted = models.TextField(blank=True, default="", editable=False)
    # NULL, not "", for staff without a NIK: the unique index ignores NULLs.
    nik_index = models.CharField(  # noqa: DJ001
        max_length=64, unique=True, null=True, editable=False
    )
    nik_mismatch = models.BooleanField(
        _("NIK does not match birth date/sex"),
        default=False,
        help_text=_("Shown to officers to check against the KTP; never a reason to refuse."),
    )
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    phone = models.CharField(_("mobile phone"), max_length=16, blank=True)
    # Set when the person typed back a code sent to `phone`; cleared when the
    # number changes. Only verified numbers get status SMS (security codes
    # go to any number: they are how it gets verified).
    phone_verified_at = models.DateTimeField(_("mobile phone verified at"), null=True, blank=True)
    address = models.TextField(_("address"), max_length=500, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=5, choices=Language.choices, default=Language.INDONESIAN
    )
    privacy_consent_at = models.DateTimeField(_("privacy consent given at"), null=True, blank=True)
    email_verified_at = models.DateTimeField(_("email verified at"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)
    # Account deletion (UU PDP No. 27/2022, art. 8): the person asked on
    # this date; the account was closed then and is anonymised once
    # ACCOUNT_ANONYMISE_AFTER_DAYS have passed (accounts.deletion).
    deletion_requested_at = models.DateTimeField(
        _("deletion requested at"), null=True, blank=True, editable=False
    )
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def get_absolute_url(self) -> str:
        return reverse("accounts:profile")

    def get_full_name(self) -> str:
        if self.anonymised_at is not None:
            return str(_(DELETED_NAME))
        return self.full_name

    def get_short_name(self) -> str:
        name = self.get_full_name()
        return name.split(" ")[0] if name and self.anonymised_at is None else name or self.email

    @property
    def is_email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_phone_verified(self) -> bool:
        return bool(self.phone) and self.phone_verified_at is not None


class PhoneVerificationQuerySet(models.QuerySet):
    def pending_for(self, user: User):
        """The code the person may still type: the newest one for the current number."""
        return (
            self.filter(user=user, phone=user.phone, verified_at__isnull=True)
            .order_by("-created_at", "-pk")
            .first()
        )


class PhoneVerification(models.Model):
    """One SMS code sent to prove a mobile number belongs to the account.

    Only a keyed hash of the code is stored. A code lives 10 minutes and
    allows 5 guesses; then a new one must be requested. Rows are kept after
    use: counting them is the resend limit.
    """

    MAX_ATTEMPTS = 5

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="phone_verifications")
    phone = models.CharField(_("mobile phone"), max_length=16)
    code_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)

    objects = PhoneVerificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("phone verification code")
        verbose_name_plural = _("phone verification codes")
        constraints = [
            # The guess counter is bumped by a conditional UPDATE; the database
            # refuses a sixth guess even if that condition were ever dropped.
            models.CheckConstraint(
                condition=models.Q(attempts__lte=5), name="accounts_phone_code_max_attempts"
            ),
        ]
        # The resend limit counts a person's recent codes; the page reads the newest.
        indexes = [
            models.Index(fields=["user", "-created_at"], name="accounts_phone_code_user_idx")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.phone} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at

    @property
    def attempts_left(self) -> int:
        return max(0, self.MAX_ATTEMPTS - self.attempts)

    @property
    def is_usable(self) -> bool:
        return self.verified_at is None and not self.is_expired and self.attempts_left > 0
