"""Signed links printed as QR codes on PDFs, opened by the public verification page."""

from __future__ import annotations

from django.core import signing
from django.urls import reverse

SALT = "applications.receipt-verification"


def token_for(kind: str, reference: str) -> str:
    """A tamper-evident token naming the document: `kind` is "receipt", "payment"...."""
    return signing.dumps({"k": kind, "r": reference}, salt=SALT, compress=True)


def read_token(token: str) -> tuple[str, str] | None:
    """(kind, reference) from a genuine token; None when it was altered or made up."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not {"k", "r"} <= data.keys():
        return None
    return str(data["k"]), str(data["r"])


def verification_url(kind: str, reference: str) -> str:
    from django.conf import settings

    return settings.SITE_URL.rstrip("/") + reverse("verify", args=[token_for(kind, reference)])


# kind → lookup(reference) returning the verification page's context (with
# "application") or None. Other apps register their documents' kinds (payments
# adds "payment") so this app does not depend on them.
_LOOKUPS: dict = {}


def register(kind: str, lookup) -> None:
    _LOOKUPS[kind] = lookup


def lookup(kind: str, reference: str) -> dict | None:
    found = _LOOKUPS.get(kind)
    return found(reference) if found else None


def _receipt(reference: str) -> dict | None:
    from applications.models import Application

    application = (
        Application.objects.select_related("service", "office", "receipt")
        .filter(reference=reference, submitted_at__isnull=False, receipt__isnull=False)
        .first()
    )
    return {"application": application} if application else None


register("receipt", _receipt)
