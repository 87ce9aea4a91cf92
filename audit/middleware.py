from __future__ import annotations

from audit import context


class AuditContextMiddleware:
    """Makes the request (who, from which address, with which browser) known to
    `audit.record` for as long as the view runs. After AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = context.bind(request)
        try:
            return self.get_response(request)
        finally:
            context.unbind(token)
