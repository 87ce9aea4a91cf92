"""The request being served, for audit entries written deep inside services.

Set by `audit.middleware.AuditContextMiddleware`; a ContextVar, so threads
and async tasks each see their own. Outside a request (Celery, management
commands) there is none and entries are written as the system's.
"""

from __future__ import annotations

from contextvars import ContextVar

_request: ContextVar = ContextVar("audit_request", default=None)


def current_request():
    return _request.get()


def bind(request):
    return _request.set(request)


def unbind(token) -> None:
    _request.reset(token)
