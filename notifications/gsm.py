"""How many SMS segments a text takes (3GPP TS 23.038).

GSM-7 texts fit 160 characters in one SMS and 153 per part when split;
characters of the extension table (e.g. € [ ] { }) count twice. Any other
character (é is fine, but emoji or ’ are not) switches the whole message
to UCS-2: 70 characters alone, 67 per part.
"""

from __future__ import annotations

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def segments(text: str) -> int:
    """Number of SMS parts `text` is sent as (0 for an empty text)."""
    if not text:
        return 0
    if is_gsm7(text):
        length = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, part = 160, 153
    else:
        # UTF-16 code units: characters outside the BMP (emoji) take two.
        length = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if length <= single else -(-length // part)
