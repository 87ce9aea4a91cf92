from __future__ import annotations


class ServiceError(Exception):
    """A business rule refused the action; the message is safe to show the user.

    Services raise it; views turn it into a form error (on `field` when
    given) or a message.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
