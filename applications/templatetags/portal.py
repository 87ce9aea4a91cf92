"""Formatting the house way: `Rp 350.000`, `22 November 2026`, times in the office's zone."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import formats, timezone

register = template.Library()


@register.filter
def rupiah(amount) -> str:
    """Whole rupiah with dots between thousands, whatever the page language."""
    if amount is None or amount == "":
        return "–"
    return "Rp " + f"{int(amount):,}".replace(",", ".")


@register.filter
def long_date(value) -> str:
    """`22 November 2026` (month name in the page's language)."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)
    return formats.date_format(value, "j F Y")


@register.filter
def long_datetime(value, office=None) -> str:
    """`22 November 2026, 14.05 WIB` in the office's time zone (WIB when none is given)."""
    if not value:
        return ""
    tz = office.tzinfo if office is not None else timezone.get_default_timezone()
    local = value.astimezone(tz)
    abbreviation = office.time_zone_abbreviation if office is not None else "WIB"
    return f"{formats.date_format(local, 'j F Y')}, {local:%H.%M} {abbreviation}"


@register.filter
def clock(value, office=None) -> str:
    """`14.05` in the office's time zone (Django's `time` filter would use WIB)."""
    if not value:
        return ""
    tz = office.tzinfo if office is not None else timezone.get_default_timezone()
    return f"{value.astimezone(tz):%H.%M}"


@register.filter
def kilobytes(size_kb) -> str:
    """A size limit in KB as people say it: `2 MB`, `500 KB`."""
    size_kb = int(size_kb or 0)
    if size_kb >= 1024 and size_kb % 1024 == 0:
        return f"{size_kb // 1024} MB"
    return f"{size_kb} KB"
