from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _account_emails_sent_inline(tasks_inline):
    """Account emails go through the notification outbox and Celery: run the
    tasks inline so `mail.outbox` holds what was sent after commit."""
