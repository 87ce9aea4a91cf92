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


def add_to_form(form, error) -> None:
    """Show a refusal next to the field it concerns, else above the form.

    Takes a ServiceError (its `field`, when the form has it) or a Django
    ValidationError (per field when it carries a dict).
    """
    if isinstance(error, ServiceError):
        form.add_error(error.field if error.field in form.fields else None, error.message)
    elif hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
