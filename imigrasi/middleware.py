from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class IndonesianFirstLocaleMiddleware(LocaleMiddleware):
    """Pages are in Indonesian unless the visitor chose English.

    Django's LocaleMiddleware follows the browser's Accept-Language, which on
    many Indonesian phones says English because of the handset's UI setting;
    here only an explicit choice counts: the language cookie set by the
    switcher (and, after login, the account's saved language).
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


class NulBytePathMiddleware:
    """A path with a NUL byte (`%00`) names no page: 404.

    Views look path parts (references, billing codes, ticket tokens) up in the
    database, and PostgreSQL refuses a NUL byte in a query: without this, any
    such URL is a 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info:
            raise Http404
        return self.get_response(request)
