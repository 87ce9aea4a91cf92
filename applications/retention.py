"""Uploaded documents are kept only as long as needed (UU PDP No. 27/2022, art. 16).

An application's files (KTP, photos, earlier versions replaced during a
revision) are deleted DOCUMENT_RETENTION_DAYS after it reached a final
status (completed, rejected, cancelled). The rows stay, with `purged_at`
set and no file name: what was sent, its SHA-256 and the officer's
decision remain part of the record. Receipts are the portal's own
documents, not uploads: they stay.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from applications import pagecache
from applications.models import Application, Document, SupersededDocument
from applications.workflow import FINAL

logger = logging.getLogger(__name__)


def closed_before(cutoff: dt.datetime):
    """Applications in a final status since before `cutoff`.

    `completed_at` is set by the move into a final status; no move leaves
    one, so `status_changed_at` is the same moment for rows that lack it.
    """
    return Application.objects.annotate(
        closed_at=Coalesce(F("completed_at"), F("status_changed_at"))
    ).filter(status__in=FINAL, closed_at__lt=cutoff)


def documents_purge_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Delete the files of up to `limit` documents past retention; return how many.

    For each file: 1. delete it from storage, 2. mark the row purged with a
    conditional UPDATE (`purged_at IS NULL`). In that order on purpose: a
    crash between the two leaves a row whose file is already gone (the
    download answers 404 and the next run marks it), never a personal file
    that no row points to any more. Deleting a missing file is a no-op, so a
    redelivered or overlapping run does no harm.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.DOCUMENT_RETENTION_DAYS)
    applications = closed_before(cutoff).values("pk")
    purged = 0
    touched: set[int] = set()
    earlier = SupersededDocument.objects.filter(
        purged_at__isnull=True, document__application__in=applications
    ).values_list("pk", "file", "document__application_id")
    earlier = list(earlier[:limit])
    for pk, name, application_id in earlier:
        _delete_file(name)
        purged += SupersededDocument.objects.filter(pk=pk, purged_at__isnull=True).update(
            purged_at=now, file=""
        )
        touched.add(application_id)
    documents = Document.objects.filter(
        purged_at__isnull=True, application__in=applications
    ).values_list("pk", "file", "application_id")
    for pk, name, application_id in documents[: limit - len(earlier)]:
        _delete_file(name)
        purged += Document.objects.filter(pk=pk, purged_at__isnull=True).update(
            purged_at=now, file=""
        )
        touched.add(application_id)
    for application_id in touched:
        # The citizen's cached page must stop offering the download.
        pagecache.touch(application_id)
    if purged:
        logger.info("retention: deleted %d document files of %d applications", purged, len(touched))
    return purged


def _delete_file(name: str) -> None:
    if name:
        default_storage.delete(name)
