from __future__ import annotations

from offices.models import Office


def office_contacts(request) -> dict:
    # Lazy: evaluated only when the footer's cached fragment has expired.
    return {"footer_offices": Office.objects.active().prefetch_related("opening_hours")}
