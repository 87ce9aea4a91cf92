"""PDFs from HTML templates in `templates/pdf/` (WeasyPrint), with QR codes.

The first render in a fresh process loads fonts (about 2 s, STACK.md), so
PDFs are rendered in Celery tasks; `warm_up()` pays that once per worker.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation


def qr_data_uri(text: str) -> str:
    """A QR code for `text` as a PNG data URI.

    One pixel per module scaled up by the PDF (image-rendering: pixelated):
    sharp when printed, and much faster for WeasyPrint than an SVG path.
    """
    import qrcode

    # A fixed mask: any of the eight is valid to every reader, and trying all
    # of them to pick the "best" costs four times the rest of the work.
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=4, border=2, mask_pattern=0
    )
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@functools.lru_cache(maxsize=1)
def _fetcher():
    """Only data: URIs: a template (or a value in it) can never make WeasyPrint fetch a URL.

    Built once per process: building one loads the system's TLS certificates (~40 ms).
    """
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"}, fail_on_errors=True, timeout=2)


def _restore_pillow_default() -> None:
    # Importing WeasyPrint sets LOAD_TRUNCATED_IMAGES for the whole process;
    # our PDFs embed only generated SVG, and uploads must see damaged images.
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False


def render_pdf(template_name: str, context: dict, *, language: str = "id") -> bytes:
    from weasyprint import HTML

    _restore_pillow_default()

    with translation.override(language):
        html = render_to_string(template_name, {**context, "LANGUAGE_CODE": language})
    return HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=_fetcher()).write_pdf()


def warm_up() -> None:
    """Render a tiny PDF so the first real one does not pay for loading fonts."""
    from weasyprint import HTML

    _restore_pillow_default()
    HTML(string="<p>Imigrasi</p>").write_pdf()


# Options of the Celery tasks that render a PDF: a full disk or a storage
# hiccup (OSError) is retried with backoff; a stuck render is stopped.
RENDER_TASK = {
    "ignore_result": True,
    "autoretry_for": (OSError,),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
    "soft_time_limit": 60,
    "time_limit": 90,
}


def store_once(model, *, owner: dict, name: str, render, then=None):
    """A rendered document kept once per owner (a receipt per application or bill).

    1. A row already there means the work was done: it is returned.
    2. Otherwise `render()` makes the PDF, stored privately under `name`.
    3. The row (file, SHA-256) is created and `then(row, stored_name)` runs in
       the same transaction (the email with the PDF: an outbox row).
    4. A concurrent renderer that created its row first wins; this file is deleted.
    """
    existing = model.objects.filter(**owner).first()
    if existing:
        return existing
    content = render()
    stored = default_storage.save(name, ContentFile(content))
    try:
        with transaction.atomic():
            row = model.objects.create(
                **owner, file=stored, sha256=hashlib.sha256(content).hexdigest()
            )
            if then is not None:
                then(row, stored)
    except IntegrityError:
        default_storage.delete(stored)
        return model.objects.get(**owner)
    return row
