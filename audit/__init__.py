"""The audit trail (TRUST.md): `audit.record(action, obj=..., ...)` writes one entry.

Imported by every app that records something, so this module stays free of
models at import time; the work is done in `audit.services`.
"""

from __future__ import annotations


def record(action: str, **kwargs):
    """Write an audit entry in the caller's transaction; see `audit.services.record`."""
    from audit.services import record as _record

    return _record(action, **kwargs)
