"""Render an event's message for one channel in the recipient's language."""

from __future__ import annotations

from dataclasses import dataclass

from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.utils import translation

from notifications.models import Channel

FALLBACK_LANGUAGE = "id"


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    body_html: str = ""
    language: str = FALLBACK_LANGUAGE  # what the text is written in, after any fallback


def _render(names: list[str], context: dict, *, required: bool = True) -> str:
    try:
        return select_template(names).render(context).strip()
    except TemplateDoesNotExist:
        if required:
            raise
        return ""


def _names(kind: str, event: str, suffix: str, language: str) -> list[str]:
    # A language-specific template wins; otherwise the shared, translated one.
    return [f"{kind}/{event}.{language}.{suffix}", f"{kind}/{event}.{suffix}"]


def render(*, event: str, channel: str, language: str, context: dict) -> Rendered:
    """Raise TemplateDoesNotExist when the event has no template for `channel`."""
    try:
        return _render_in(event, channel, language, context)
    except TemplateDoesNotExist:
        if language == FALLBACK_LANGUAGE:
            raise
        return _render_in(event, channel, FALLBACK_LANGUAGE, context)


def _render_in(event: str, channel: str, language: str, context: dict) -> Rendered:
    with translation.override(language):
        context = {**context, "LANGUAGE_CODE": language}
        if channel == Channel.EMAIL:
            subject = _render(_names("email", event, "subject.txt", language), context)
            return Rendered(
                subject=" ".join(subject.split()),
                body=_render(_names("email", event, "txt", language), context),
                body_html=_render(
                    _names("email", event, "html", language), context, required=False
                ),
                language=language,
            )
        kind = "sms" if channel == Channel.SMS else "portal"
        return Rendered(
            subject="",
            body=_render(_names(kind, event, "txt", language), context),
            language=language,
        )
