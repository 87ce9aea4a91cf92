"""Who may see and act on which application (TRUST.md, "Access")."""

from __future__ import annotations

from django.http import Http404

from applications.models import Application, Document


def staff_applications(user):
    """Applications of the offices `user` works at; every office for a superuser."""
    queryset = Application.objects.all()
    if not (user.is_active and user.is_staff):
        return queryset.none()
    if user.is_superuser:
        return queryset
    return queryset.filter(office__memberships__user=user)


def officer_can_act(user, application) -> bool:
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    return application.office.memberships.filter(user=user).exists()


def application_for_citizen(user, reference: str, *, lock: bool = False) -> Application:
    """The citizen's own application, or 404: other people's objects do not exist."""
    queryset = Application.objects.select_related("service", "office", "receipt")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    if "\x00" in reference:  # from a URL or a form; PostgreSQL refuses NUL in a query (500)
        raise Http404
    try:
        return queryset.get(reference=reference, applicant=user)
    except Application.DoesNotExist:
        raise Http404 from None


def document_for(user, reference: str, document_id: int) -> Document:
    """The owner's own document, else 404; officers open documents from the admin."""
    queryset = Document.objects.select_related("application", "application__office")
    try:
        document = queryset.get(pk=document_id, application__reference=reference)
    except (Document.DoesNotExist, ValueError):
        raise Http404 from None
    if document.application.applicant_id == user.pk:
        return document
    raise Http404
