"""Imigrasi settings: one file, every knob from the environment.

Defaults serve `make run` on a bare machine (SQLite under var/, Celery
eager, console email). Production switches on with DEBUG off plus
SECRET_KEY, PII keys, DATABASE_URL, REDIS_URL, EMAIL_URL, SITE_URL and
ALLOWED_HOSTS (docs/deployment.md).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from imigrasi import devkeys

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _env_str(name: str, default: str | None = None) -> str | None:
    """An empty variable counts as unset (django-environ would keep "")."""
    value = env.str(name, default="")
    return value if value.strip() else default


DEBUG = env.bool("DEBUG", default=False)
RUNNING_TESTS = "pytest" in sys.modules
VAR_DIR = Path(_env_str("VAR_DIR", str(BASE_DIR / "var")))

# Development keys are generated into var/ so `make run` and the tests work
# on a fresh clone; outside DEBUG and the tests every secret must be given.
DEV_KEYS = env.bool("DEV_KEYS", default=DEBUG or RUNNING_TESTS)


def _secret(name: str, generate) -> str:
    value = _env_str(name)
    if value:
        return value
    if DEV_KEYS:
        return devkeys.read_or_create(VAR_DIR / "keys" / name.lower(), generate)
    raise ImproperlyConfigured(f"{name} must be set when DEBUG is off.")


SECRET_KEY = _secret("SECRET_KEY", devkeys.new_secret_key)
# Old keys still accepted for signatures (printed receipt QR codes outlive a rotation).
SECRET_KEY_FALLBACKS = [
    k.strip() for k in (_env_str("SECRET_KEY_FALLBACKS") or "").split(",") if k.strip()
]
# NIK and passport numbers: Fernet keys newest first, separate from SECRET_KEY
# (TRUST.md, "Personal data at rest"), and a keyed hash for exact lookup.
PII_ENCRYPTION_KEYS = [
    key.strip()
    for key in _secret("PII_ENCRYPTION_KEYS", devkeys.new_fernet_key).split(",")
    if key.strip()
]
PII_BLIND_INDEX_KEY = _secret("PII_BLIND_INDEX_KEY", devkeys.new_secret_key)
if PII_BLIND_INDEX_KEY in (SECRET_KEY, *PII_ENCRYPTION_KEYS):
    raise ImproperlyConfigured("PII_BLIND_INDEX_KEY must differ from the other keys.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = (_env_str("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # The admin site requires a verified second factor (imigrasi.admin_site).
    "imigrasi.admin_apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "accounts",
    "offices",
    "notifications",
    "applications",
    "payments",
    "queueing",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "imigrasi.middleware.IndonesianFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who and from where, for audit entries written inside services (audit.record).
    "audit.middleware.AuditContextMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A %00 in a path is a 404, not a database error (imigrasi.middleware).
    "imigrasi.middleware.NulBytePathMiddleware",
    # Idle and absolute session limits, then the second factor: staff reach
    # nothing but enrolment and verification until a device has verified them.
    "accounts.middleware.SessionLimitsMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a lockout into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "imigrasi.urls"
WSGI_APPLICATION = "imigrasi.wsgi.application"
ASGI_APPLICATION = "imigrasi.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "offices.context_processors.office_contacts",
                "notifications.context_processors.unread_count",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = _env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the embedded server read while a request writes; IMMEDIATE
    # takes the write lock up front so two writers wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
else:
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -----------------------------------------------------
REDIS_URL = _env_str("REDIS_URL")
if REDIS_URL and RUNNING_TESTS and env.str("PYTEST_XDIST_WORKER", default=""):
    # Parallel test workers each get their own Redis database, so one
    # worker's cache.clear() (FLUSHDB) never empties another's.
    # (TEST_REDIS_DB_OFFSET keeps two suites run side by side apart too.)
    _worker = int(env.str("PYTEST_XDIST_WORKER").removeprefix("gw") or 0)
    _worker += env.int("TEST_REDIS_DB_OFFSET", default=0)
    REDIS_URL = f"{REDIS_URL.rsplit('/', 1)[0]}/{1 + _worker % 15}"
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "imigrasi.cache.ReusingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="imigrasi"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = _env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
# Without a broker, tasks run inline so `make run` needs no Redis.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = env.bool("CELERY_TASK_EAGER_PROPAGATES", default=False)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# A task is acknowledged only when done and requeued if its worker dies
# (TRUST.md, "Side effects that must not be lost").
CELERY_TASK_ACKS_LATE = True
# Keep a worker's database connection between tasks (Celery otherwise opens a
# new one for every task); `imigrasi.celery` still drops broken or old ones.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=100)
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2}
CELERY_TIMEZONE = "Asia/Jakarta"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic tasks are declared here, in one place, as later issues add them.
CELERY_BEAT_SCHEDULE: dict = {
    # Re-send what a broker outage or a dead worker left in the outbox.
    "notifications-sweep": {"task": "notifications.tasks.sweep_outbox", "schedule": 60.0},
    # Receipts whose rendering task was lost.
    "applications-receipts": {"task": "applications.tasks.sweep_receipts", "schedule": 300.0},
    # Documents ready 30 days and not collected: tell the office's officers.
    "applications-uncollected": {
        "task": "applications.tasks.flag_uncollected",
        "schedule": 6 * 3600.0,
    },
    # Bills a lost task did not issue, and unpaid bills past expiry.
    "payments-issue": {"task": "payments.tasks.issue_missing_bills", "schedule": 120.0},
    "payments-expire": {"task": "payments.tasks.expire_bills", "schedule": 300.0},
    # Ask the gateway about unpaid bills: recovers lost webhooks.
    "payments-reconcile": {"task": "payments.tasks.reconcile_payments", "schedule": 900.0},
    "payments-receipts": {"task": "payments.tasks.sweep_payment_receipts", "schedule": 300.0},
    # A billing code that runs out within a day: remind the citizen once.
    "payments-remind": {"task": "payments.tasks.remind_unpaid", "schedule": 3600.0},
    # The rolling booking window moves on; pages also fill it on demand.
    "queueing-slots": {"task": "queueing.tasks.make_slots", "schedule": 3 * 3600.0},
    # Appointments nobody came to become "missed" after the day.
    "queueing-missed": {"task": "queueing.tasks.mark_missed", "schedule": 3600.0},
    # Waiting-list offers not taken in time go to the next person.
    "queueing-offers": {"task": "queueing.tasks.expire_offers", "schedule": 60.0},
    # Reminders: the day before, and an hour before a video consultation.
    "queueing-remind-day": {"task": "queueing.tasks.remind_day_before", "schedule": 900.0},
    "queueing-remind-hour": {"task": "queueing.tasks.remind_hour_before", "schedule": 300.0},
    # Personal data (UU PDP): accounts closed on request are anonymised after the grace
    # period; uploaded files go DOCUMENT_RETENTION_DAYS after their application closed.
    "accounts-anonymise": {
        "task": "accounts.tasks.anonymise_deleted_accounts",
        "schedule": 24 * 3600.0,
    },
    "applications-retention": {
        "task": "applications.tasks.purge_expired_documents",
        "schedule": 24 * 3600.0,
    },
    # Expired sessions and old failed-login records (django-axes).
    "accounts-security-records": {
        "task": "accounts.tasks.purge_security_records",
        "schedule": 24 * 3600.0,
    },
}

# --- Queueing -------------------------------------------------------------
# Appointments can be booked this many days ahead (a rolling window, no monthly rush).
QUEUE_DAYS_AHEAD = env.int("QUEUE_DAYS_AHEAD", default=30)
# How many times a booking may be moved (until the day before the appointment).
BOOKING_RESCHEDULE_LIMIT = env.int("BOOKING_RESCHEDULE_LIMIT", default=2)
# Upcoming video consultations one citizen may hold at once.
CONSULTATIONS_PER_CITIZEN = env.int("CONSULTATIONS_PER_CITIZEN", default=1)
# A place offered from the waiting list is held this long.
WAITLIST_OFFER_MINUTES = env.int("WAITLIST_OFFER_MINUTES", default=120)
# Service time assumed for waiting estimates until the day has finished tickets.
QUEUE_DEFAULT_SERVICE_MINUTES = env.int("QUEUE_DEFAULT_SERVICE_MINUTES", default=10)
# Booked citizens get an SMS when this many tickets are ahead of theirs.
QUEUE_NEAR_AHEAD = env.int("QUEUE_NEAR_AHEAD", default=3)
# Video consultation rooms: <base>/Imigrasi-<unguessable token> (e.g. a self-hosted Jitsi Meet).
VIDEO_MEETING_BASE_URL = _env_str("VIDEO_MEETING_BASE_URL", "https://meet.jit.si")

# --- Payments -------------------------------------------------------------
# sandbox: the built-in gateway (its pages are part of the portal, for `make
# run` and tests); midtrans: the Midtrans-style adapter.
PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="sandbox")
if PAYMENT_GATEWAY not in {"sandbox", "midtrans"}:
    raise ImproperlyConfigured("PAYMENT_GATEWAY must be sandbox or midtrans.")
# Kode billing validity: 7 days by default (the national app's 2 hours is a top complaint).
BILL_VALIDITY_HOURS = env.int("BILL_VALIDITY_HOURS", default=168)
# After a bill expires, a new one may be asked for once, within this many days.
BILL_REISSUE_DAYS = env.int("BILL_REISSUE_DAYS", default=7)
# The sandbox signs its webhooks with this key (HMAC-SHA256 over "timestamp.body").
SANDBOX_WEBHOOK_SECRET = (
    _secret("SANDBOX_WEBHOOK_SECRET", devkeys.new_secret_key)
    if PAYMENT_GATEWAY == "sandbox"
    else ""
)
# Where the sandbox delivers its webhooks; defaults to this portal's own address.
SANDBOX_WEBHOOK_URL = _env_str("SANDBOX_WEBHOOK_URL", "")
MIDTRANS_SERVER_KEY = _env_str("MIDTRANS_SERVER_KEY", "")
MIDTRANS_API_URL = _env_str("MIDTRANS_API_URL", "https://api.sandbox.midtrans.com")
if PAYMENT_GATEWAY == "midtrans" and not MIDTRANS_SERVER_KEY:
    raise ImproperlyConfigured("PAYMENT_GATEWAY=midtrans needs MIDTRANS_SERVER_KEY.")
WEBHOOK_TOLERANCE_SECONDS = 300

# --- Email ----------------------------------------------------------------
# EMAIL_URL (e.g. smtp+tls://user:pass@host:587) becomes Django 6.1's MAILERS.
_email = env.email_url("EMAIL_URL", default="consolemail://")
_email_options = {
    option: _email[key]
    for key, option in [
        ("EMAIL_HOST", "host"),
        ("EMAIL_PORT", "port"),
        ("EMAIL_HOST_USER", "username"),
        ("EMAIL_HOST_PASSWORD", "password"),
        ("EMAIL_USE_TLS", "use_tls"),
        ("EMAIL_USE_SSL", "use_ssl"),
        ("EMAIL_FILE_PATH", "file_path"),
    ]
    if _email.get(key) not in (None, "")
}
if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
    _email_options["timeout"] = 10
else:
    _email_options = {k: v for k, v in _email_options.items() if k == "file_path"}
MAILERS = {
    "default": {
        "BACKEND": _env_str("EMAIL_BACKEND", _email["EMAIL_BACKEND"]),
        "OPTIONS": _email_options,
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Imigrasi <noreply@imigrasi.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- SMS ------------------------------------------------------------------
SMS_BACKEND = _env_str(
    "SMS_BACKEND",
    "notifications.sms.locmem.LocmemBackend"
    if RUNNING_TESTS
    else "notifications.sms.console.ConsoleBackend",
)
SMS_GATEWAY_URL = _env_str("SMS_GATEWAY_URL", "")
SMS_GATEWAY_API_KEY = _env_str("SMS_GATEWAY_API_KEY", "")
SMS_GATEWAY_TIMEOUT = env.float("SMS_GATEWAY_TIMEOUT", default=5.0)
# The gateway signs delivery receipts with this key (HMAC-SHA256 over "timestamp.body").
SMS_RECEIPT_SECRET = _env_str("SMS_RECEIPT_SECRET", "")
if SMS_BACKEND.endswith("HttpGatewayBackend") and not (
    SMS_GATEWAY_URL and SMS_GATEWAY_API_KEY and SMS_RECEIPT_SECRET
):
    raise ImproperlyConfigured(
        "The HTTP SMS gateway needs SMS_GATEWAY_URL, SMS_GATEWAY_API_KEY and SMS_RECEIPT_SECRET."
    )

# --- Accounts -------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# ModelBackend, with the logged-in person's row cached briefly when Redis is there.
# django-axes first: it refuses a locked-out username + address before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.CachedModelBackend",
]
# Lockout (TRUST.md): 5 failures for one username from one address, then 30 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The login form's field is "username": axes would otherwise look for USERNAME_FIELD
# ("email"), find nothing and never lock an account. Counted in lower case, as login
# ignores case.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.backends.lockout_username"
AXES_CLIENT_IP_CALLABLE = "imigrasi.ratelimit.client_ip_or_none"
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_RESET_ON_SUCCESS = True
# Failed-login records are deleted this long after the attempt (accounts.tasks).
LOGIN_FAILURE_RETENTION_DAYS = env.int("LOGIN_FAILURE_RETENTION_DAYS", default=30)
# Successful logins are not stored by axes: the audit trail records staff logins.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# How many proxies in front append to X-Forwarded-For (nginx: 1); 0 trusts no header.
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)
# Per address (or per account) limits: scope -> (attempts, window in seconds).
RATE_LIMITS = {
    "login": (env.int("LOGIN_LIMIT", default=30), 900),
    "register": (env.int("REGISTER_LIMIT", default=10), 3600),
    "password-reset": (env.int("PASSWORD_RESET_LIMIT", default=5), 3600),
    "verification-resend": (5, 3600),
    "phone-code-send": (10, 3600),
    "phone-code-check": (20, 3600),
    "otp-verify": (20, 900),
    "reauth": (10, 900),
    # Downloading one's data and deleting one's account ask for the password: per account.
    "personal-data": (5, 900),
    "account-delete": (5, 900),
    "upload": (env.int("UPLOADS_PER_DAY", default=60), 24 * 3600),
    "booking": (env.int("BOOKING_ATTEMPTS_LIMIT", default=30), 3600),
    "csp-report": (60, 60),
}
# Idle timeouts (TRUST.md): staff sessions die sooner; every session ends after SESSION_COOKIE_AGE.
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
STAFF_SESSION_IDLE_SECONDS = env.int("STAFF_SESSION_IDLE_SECONDS", default=15 * 60)
# A password confirmation is good this long before changing email, phone or 2FA.
REAUTH_SECONDS = env.int("REAUTH_SECONDS", default=5 * 60)
# An account closed at its owner's request is anonymised after this many days; until
# then an officer can restore it (docs/privacy.md).
ACCOUNT_ANONYMISE_AFTER_DAYS = env.int("ACCOUNT_ANONYMISE_AFTER_DAYS", default=30)
if ACCOUNT_ANONYMISE_AFTER_DAYS < 0:
    raise ImproperlyConfigured("ACCOUNT_ANONYMISE_AFTER_DAYS must be 0 or more.")
# Two-factor: the name shown in authenticator apps.
OTP_TOTP_ISSUER = "Imigrasi"
OTP_STATIC_BACKUP_CODES = 10
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "home"
EMAIL_VERIFICATION_MAX_AGE = env.int("EMAIL_VERIFICATION_MAX_AGE", default=48 * 3600)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.ContextWordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
if RUNNING_TESTS:
    # Fast tests (CONVENTIONS.md); production keeps PBKDF2.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
# With Redis (shared by every process) sessions are read from the cache and
# written through to the database; a per-process memory cache could keep a
# logged-out session alive in another process, so without Redis: database.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if REDIS_URL
    else "django.contrib.sessions.backends.db"
)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- Internationalisation ------------------------------------------------
LANGUAGE_CODE = "id"
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "imigrasi_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not (DEBUG or RUNNING_TESTS))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "private")},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Uploaded documents are private: never served under a public MEDIA URL.
MEDIA_ROOT = VAR_DIR / "private"
DATA_UPLOAD_MAX_NUMBER_FILES = 2
# One document per request; all of an application's documents together at most this.
APPLICATION_UPLOAD_TOTAL_MB = env.int("APPLICATION_UPLOAD_TOTAL_MB", default=25)
# Uploaded files are deleted this many days after their application reached a final
# status; the rows stay (applications.retention, docs/privacy.md).
DOCUMENT_RETENTION_DAYS = env.int("DOCUMENT_RETENTION_DAYS", default=90)
if DOCUMENT_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("DOCUMENT_RETENTION_DAYS must be 0 or more.")
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Public status check: attempts per IP address and window (TRUST.md).
STATUS_CHECK_LIMIT = env.int("STATUS_CHECK_LIMIT", default=10)
STATUS_CHECK_WINDOW_SECONDS = env.int("STATUS_CHECK_WINDOW_SECONDS", default=900)
# Wrong birth dates for one reference per hour, from any address, before it is locked.
STATUS_CHECK_REFERENCE_MISSES = env.int("STATUS_CHECK_REFERENCE_MISSES", default=5)
# In production nginx serves private files: the view answers X-Accel-Redirect to this prefix.
PRIVATE_FILES_ACCEL_PREFIX = _env_str("PRIVATE_FILES_ACCEL_PREFIX", "")
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security headers -----------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    # Violations are logged (imigrasi.views.csp_report): a missed inline script shows up there.
    "report-uri": "/csp-report/",
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if not DEBUG:
    # Production-like: TLS everywhere, cookies only over HTTPS. The TLS
    # terminator must set X-Forwarded-Proto (one trusted proxy in front).
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not RUNNING_TESTS)
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not RUNNING_TESTS)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
    if SESSION_COOKIE_SECURE:
        # __Host- cookies are refused by browsers unless Secure, Path=/ and no Domain.
        SESSION_COOKIE_NAME = "__Host-sessionid"
        CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging --------------------------------------------------------------
LOGGING = {
    "version": 1,
    # Keep Django's own loggers (django.request): without this a 500 logs nothing.
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # At DEBUG these print SQL parameters and template contexts: personal data.
        "django.db.backends": {"level": "WARNING"},
        "django.template": {"level": "INFO"},
        "django.security": {"level": "INFO"},
        # WeasyPrint narrates every render step at INFO; fontTools reports subsetting.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # django-axes narrates every login at INFO; lockouts are WARNING.
        "axes": {"level": "WARNING"},
    },
}

# `make bench` compares pages with a bare view served by the same process.
BENCH_ENDPOINTS = env.bool("BENCH_ENDPOINTS", default=False)
