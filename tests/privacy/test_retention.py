"""Document retention: uploaded files go DOCUMENT_RETENTION_DAYS after their application
closed; the rows stay, pages say so, and downloads answer 404. Open applications
and receipts keep their files."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from applications.models import Document, Receipt, SupersededDocument
from applications.retention import documents_purge_due
from applications.tasks import purge_expired_documents
from applications.workflow import Status
from tests.privacy.conftest import advance, complete_draft
from tests.utils import in_language, page_text

pytestmark = pytest.mark.django_db

NOTICE = "file deleted after the retention period"


def days_later(days: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


@pytest.fixture
def retention(settings):
    settings.DOCUMENT_RETENTION_DAYS = 90


@pytest.fixture
def completed(ani, office_a, passport_service, budi, retention):
    """ani's passport application, handed over today, with an earlier version of one file."""
    application = advance(
        complete_draft(ani, office_a, passport_service), Status.COMPLETED, officer=budi
    )
    document = application.documents.first()
    old = default_storage.save("documents/old.png", ContentFile(b"old version"))
    SupersededDocument.objects.create(
        document=document,
        file=old,
        original_name="ktp-lama.png",
        sha256="1" * 64,
        state=Document.State.REJECTED,
        uploaded_at=timezone.now(),
    )
    return application


def files_of(application) -> list[str]:
    return [
        *Document.objects.filter(application=application).values_list("file", flat=True),
        *SupersededDocument.objects.filter(document__application=application).values_list(
            "file", flat=True
        ),
    ]


def test_files_of_a_closed_application_are_deleted_after_the_period(completed):
    names = files_of(completed)
    assert len(names) >= 2 and all(default_storage.exists(n) for n in names)

    purged = documents_purge_due(now=days_later(91))

    assert purged == len(names)
    assert not any(default_storage.exists(n) for n in names)
    documents = Document.objects.filter(application=completed)
    assert documents.count() == len(names) - 1  # the rows stay
    for document in documents:
        assert document.purged_at is not None and document.file.name == ""
        assert document.sha256 and document.original_name  # the record of what was sent
    earlier = SupersededDocument.objects.get(document__application=completed)
    assert earlier.purged_at is not None and earlier.file.name == ""


def test_nothing_is_deleted_before_the_period_is_over(completed):
    names = files_of(completed)

    assert documents_purge_due(now=days_later(89)) == 0

    assert all(default_storage.exists(n) for n in names)
    assert not Document.objects.filter(purged_at__isnull=False).exists()


def test_the_period_is_a_setting(completed, settings):
    settings.DOCUMENT_RETENTION_DAYS = 365

    assert documents_purge_due(now=days_later(91)) == 0


@pytest.mark.parametrize("status", [Status.PAID, Status.READY, Status.REVISION_REQUESTED])
def test_open_applications_keep_their_files_however_old(
    status, ani, office_a, passport_service, budi, retention
):
    application = advance(complete_draft(ani, office_a, passport_service), status, officer=budi)
    names = files_of(application)

    assert documents_purge_due(now=days_later(1000)) == 0

    assert all(default_storage.exists(n) for n in names)


def test_rejected_and_cancelled_applications_count_as_closed(
    ani, office_a, passport_service, regular_passport_service, budi, retention
):
    rejected = advance(
        complete_draft(ani, office_a, passport_service), Status.REJECTED, officer=budi
    )
    cancelled = advance(
        complete_draft(ani, office_a, regular_passport_service), Status.CANCELLED, officer=budi
    )
    names = files_of(rejected) + files_of(cancelled)

    documents_purge_due(now=days_later(91))

    assert not any(default_storage.exists(n) for n in names)


def test_receipts_are_kept(completed):
    stored = default_storage.save("receipts/tanda-terima.pdf", ContentFile(b"%PDF-1.7"))
    Receipt.objects.create(application=completed, file=stored, sha256="2" * 64)

    documents_purge_due(now=days_later(91))

    assert default_storage.exists(stored)
    assert Receipt.objects.get(application=completed).file.name == stored


def test_a_second_run_does_nothing(completed):
    documents_purge_due(now=days_later(91))
    first = list(Document.objects.values_list("pk", "purged_at"))

    assert documents_purge_due(now=days_later(92)) == 0
    assert list(Document.objects.values_list("pk", "purged_at")) == first


def test_a_file_already_missing_is_still_marked(completed):
    document = completed.documents.first()
    default_storage.delete(document.file.name)

    documents_purge_due(now=days_later(91))

    document.refresh_from_db()
    assert document.purged_at is not None


def test_the_task_purges_what_is_due(completed, settings):
    settings.DOCUMENT_RETENTION_DAYS = 0

    assert purge_expired_documents() == len(files_of(completed))


def test_the_citizen_download_answers_404_after_the_purge(client, ani, completed):
    document = completed.documents.first()
    url = reverse("applications:document", args=[completed.reference, document.pk])
    client.force_login(ani)
    assert client.get(url).status_code == 200

    documents_purge_due(now=days_later(91))

    assert client.get(url).status_code == 404


def test_the_citizen_page_says_the_file_was_deleted_instead_of_a_broken_link(
    client, ani, completed
):
    document = completed.documents.first()
    url = reverse("applications:document", args=[completed.reference, document.pk])
    client.force_login(ani)
    before = client.get(completed.get_absolute_url())  # cached from here on
    assert url in page_text(before)

    documents_purge_due(now=days_later(91))

    after = page_text(client.get(completed.get_absolute_url()))
    assert url not in after
    assert in_language("id", NOTICE) in after
    assert document.original_name in after


def test_the_officer_download_answers_404_and_the_admin_page_says_why(
    client, budi, completed, settings
):
    settings.PRIVATE_FILES_ACCEL_PREFIX = "/internal-files/"  # as in production, behind nginx
    document = completed.documents.first()
    file_url = reverse(
        "admin:applications_application_document_file", args=[completed.pk, document.pk]
    )
    client.force_login(budi)
    assert client.get(file_url).status_code == 200

    documents_purge_due(now=days_later(91))

    assert client.get(file_url).status_code == 404
    page = page_text(
        client.get(reverse("admin:applications_application_change", args=[completed.pk]))
    )
    assert file_url not in page
    assert in_language(budi.preferred_language, NOTICE) in page


def test_behind_nginx_a_purged_document_is_not_handed_to_nginx(client, ani, completed, settings):
    """With X-Accel-Redirect an empty file name would point nginx at the folder itself."""
    settings.PRIVATE_FILES_ACCEL_PREFIX = "/internal-files/"
    document = completed.documents.first()
    url = reverse("applications:document", args=[completed.reference, document.pk])
    client.force_login(ani)
    assert client.get(url)["X-Accel-Redirect"] == f"/internal-files/{document.file.name}"

    documents_purge_due(now=days_later(91))

    response = client.get(url)
    assert response.status_code == 404
    assert "X-Accel-Redirect" not in response
