from __future__ import annotations

from django.utils import translation


class UserLanguageMiddleware:
    """A logged-in user sees pages in the language saved on their account.

    Runs after AuthenticationMiddleware; LocaleMiddleware has already
    chosen from the cookie or Accept-Language for anonymous visitors.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.preferred_language:
            translation.activate(user.preferred_language)
            request.LANGUAGE_CODE = user.preferred_language
        return self.get_response(request)
