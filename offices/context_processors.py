from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from offices.models import Office


def office_contacts(request) -> dict:
    # Lazy: nothing is built unless the footer's cached fragment has expired.
    return {
        "footer_offices": SimpleLazyObject(
            lambda: list(Office.objects.active().prefetch_related("opening_hours"))
        )
    }
