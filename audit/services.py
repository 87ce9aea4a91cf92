"""Writing audit entries (TRUST.md: who, what, when, from where)."""

from __future__ import annotations

from django.db import models

from audit import context
from audit.models import AuditEntry

Role = AuditEntry.Role
# Keys that would carry personal data or secrets: `detail` must never hold them.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "nik",
        "passport",
        "passport_number",
        "name",
        "full_name",
        "email",
        "phone",
        "address",
        "password",
        "token",
        "otp",
        "note",
        "reason",
    }
)
LABEL_ATTRIBUTES = ("reference", "code", "label")


def role_of(user, *, in_request: bool) -> str:
    """The role `user` acted in; without a user: a visitor, or the system outside requests."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Role.ANONYMOUS if in_request else Role.SYSTEM
    if user.is_superuser:
        return Role.ADMIN
    if not user.is_staff:
        return Role.CITIZEN
    from offices.roles import SUPERVISOR

    cached = user.__dict__.get("_audit_role")
    if cached is None:
        is_supervisor = user.groups.filter(name=SUPERVISOR).exists()
        cached = user.__dict__["_audit_role"] = Role.SUPERVISOR if is_supervisor else Role.OFFICER
    return cached


def label_of(obj) -> str:
    """A reference or code that names `obj` without personal data (never `str(obj)`:
    a user's or a person's string is their name)."""
    for attribute in LABEL_ATTRIBUTES:
        value = getattr(obj, attribute, None)
        if isinstance(value, str) and value:
            return value
    return f"#{obj.pk}"


def office_id_of(obj) -> int | None:
    office_id = getattr(obj, "office_id", None)
    if office_id is None and getattr(obj, "application_id", None):
        office_id = obj.application.office_id
    return office_id


def _client(request) -> tuple[str | None, str]:
    if request is None:
        return None, ""
    from imigrasi.ratelimit import client_ip

    address = client_ip(request)
    user_agent = request.META.get("HTTP_USER_AGENT", "")
    return (None if address == "unknown" else address), user_agent[:200]


def _checked(detail: dict | None) -> dict:
    detail = dict(detail or {})
    leaked = FORBIDDEN_DETAIL_KEYS.intersection(k.lower() for k in detail)
    if leaked:
        # A programming error: caught by the tests, never written.
        raise ValueError(f"Audit detail must not hold personal data: {sorted(leaked)}")
    return detail


def record(
    action: str,
    *,
    obj: models.Model | None = None,
    office=None,
    by=None,
    detail: dict | None = None,
    label: str | None = None,
    request=None,
) -> AuditEntry:
    """Write one audit entry, in the caller's transaction (a rolled-back action leaves none).

    `by` defaults to the user of the current request (`AuditContextMiddleware`);
    `request` defaults to the current one, for the address and browser. `office`
    (an Office or its id) defaults to the object's office. `label` defaults to
    the object's reference or code. `detail` holds no personal data: statuses,
    decisions, amounts, counts.
    """
    action = AuditEntry.Action(action)
    request = request if request is not None else context.current_request()
    if by is None and request is not None:
        user = getattr(request, "user", None)
        by = user
    if by is not None and not by.is_authenticated:
        by = None
    ip, user_agent = _client(request)
    if isinstance(office, models.Model):
        office = office.pk
    if office is None and obj is not None:
        office = office_id_of(obj)
    return AuditEntry.objects.create(
        actor=by,
        actor_email=by.email if by is not None and by.is_staff else "",
        actor_role=role_of(by, in_request=request is not None),
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=(label if label is not None else label_of(obj) if obj is not None else "")[
            :120
        ],
        office_id=office,
        ip=ip,
        user_agent=user_agent,
        detail=_checked(detail),
    )
