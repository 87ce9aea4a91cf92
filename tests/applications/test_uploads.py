"""Uploading a document: the attack corpus of TRUST.md, "Uploaded documents".

Every hostile file is built here in code (no binary blobs). A refusal must
answer 400 with a sentence a citizen understands, and leave nothing behind:
no Document row and no file under the private root. An accepted image is
stored re-encoded (only its pixels survive), under a server-chosen name.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse
from PIL import ExifTags, Image, ImageFile
from pypdf import PdfWriter

from applications import services, uploads
from applications.models import Application, Document, Requirement, Service, SupersededDocument
from applications.workflow import Status
from imigrasi.errors import ServiceError
from tests.applications.conftest import advance, png_bytes
from tests.utils import committed, html_lang, in_language, page_text

pytestmark = pytest.mark.django_db

STORED_NAME = re.compile(r"^documents/\d{4}/\d{2}/[0-9a-f]{32}\.(jpg|png|pdf)$")

# The messages as the code writes them (msgids); pages show them in the reader's language.
DAMAGED = "The file is damaged and cannot be opened. Save or scan it again."
EMPTY = "The file is empty."
NOT_A_TYPE = "This file is not a %(allowed)s file. Scan or photograph the document again."
TOO_BIG_PICTURE = "The picture is too big. Take the photo at a lower resolution."
TOO_LARGE = "The file is too large (%(size)s). The limit for this document is %(limit)s."
UNSAFE_PDF = (
    "This PDF contains scripts, attachments or automatic actions, which are not "
    "allowed. Print it to a new PDF or scan the paper document instead."
)
PASSWORD_PDF = "This PDF is protected with a password. Upload a copy without a password."
TOO_MANY_PAGES = "The PDF has %(pages)s pages; at most %(limit)s are allowed."
NOT_EDITABLE = "Documents can no longer be changed for this application."
ACCEPTED_STAYS = "This document was accepted; only documents marked for revision can be replaced."


# --- The corpus, built in code ---------------------------------------------------------


def jpeg_bytes(width: int = 120, height: int = 80, **save_options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "JPEG", **save_options)
    return buffer.getvalue()


def noisy_jpeg_bytes() -> bytes:
    """A JPEG with real entropy (a flat colour compresses to almost nothing)."""
    pixels = bytes((i * 7919 + (i >> 3) * 104729) % 251 for i in range(160 * 160 * 3))
    buffer = io.BytesIO()
    Image.frombytes("RGB", (160, 160), pixels).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims `width` × `height` pixels (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def png_with_text_chunk(text: bytes) -> bytes:
    plain = png_bytes()
    iend = plain.rindex(b"IEND") - 4
    return plain[:iend] + _png_chunk(b"tEXt", b"Comment\x00" + text) + plain[iend:]


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "S",
        ExifTags.GPS.GPSLatitude: (5.0, 26.0, 0.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (105.0, 16.0, 0.0),
    }
    return jpeg_bytes(64, 48, exif=exif)


def pdf_blank(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_encrypted() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("rahasia-sekali", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"
PAGE_WITH_ANNOT = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Annots [4 0 R] >>"
CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"


def pdf_classic(objects: list[bytes]) -> bytes:
    """A PDF 1.7 with a plain cross-reference table; object 1 is the catalogue."""
    out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


def pdf_object_stream(objects: list[bytes]) -> bytes:
    """A PDF 1.5 whose objects all sit in one compressed object stream.

    Only the stream's and the cross-reference stream's dictionaries are
    readable in the raw bytes; everything else is deflated.
    """
    header = body = b""
    for number, text in enumerate(objects, start=1):
        header += b"%d %d " % (number, len(body))
        body += text + b"\n"
    packed = zlib.compress(header + body)
    count = len(objects)
    out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"
    stream_at = len(out)
    out += (
        b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\n"
        b"stream\n"
        % (count + 1, count, len(header), len(packed))
        + packed
        + b"\nendstream\nendobj\n"
    )
    xref_at = len(out)
    rows = struct.pack(">BIH", 0, 0, 65535)
    rows += b"".join(struct.pack(">BIH", 2, count + 1, index) for index in range(count))
    rows += struct.pack(">BIH", 1, stream_at, 0) + struct.pack(">BIH", 1, xref_at, 0)
    packed_rows = zlib.compress(rows)
    out += (
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Filter /FlateDecode "
        b"/Length %d >>\nstream\n"
        % (count + 2, count + 3, len(packed_rows))
        + packed_rows
        + b"\nendstream\nendobj\n"
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return out


JS_ACTION = b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"


def pdf_with_javascript() -> bytes:
    return pdf_classic(
        [b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", PAGES, PAGE, JS_ACTION]
    )


def pdf_with_open_action() -> bytes:
    """Only a /OpenAction (to fit the page): any automatic action is refused."""
    return pdf_classic([b"<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit] >>", PAGES, PAGE])


def pdf_with_hex_escaped_names() -> bytes:
    """`/J#61vaScript` is `/JavaScript` to a PDF reader but not to a byte search."""
    return pdf_classic(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Names << /J#61vaScript 4 0 R >> >>",
            PAGES,
            PAGE,
            b"<< /Names [(run) 5 0 R] >>",
            b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>",
        ]
    )


def pdf_with_js_in_object_stream() -> bytes:
    link = b"<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A " + JS_ACTION + b" >>"
    return pdf_object_stream([CATALOG, PAGES, PAGE_WITH_ANNOT, link])


def pdf_with_attached_file() -> bytes:
    """A file attachment annotation carrying an .exe; the embedded stream omits its
    optional `/Type /EmbeddedFile`, so only `/EF` says a file travels inside."""
    annotation = (
        b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 10 10] "
        b"/FS << /Type /Filespec /F (invoice.exe) /EF << /F 5 0 R >> >> >>"
    )
    embedded = b"<< /Length 2 >>\nstream\nMZ\nendstream"
    return pdf_classic([CATALOG, PAGES, PAGE_WITH_ANNOT, annotation, embedded])


def pdf_with_rich_media_in_object_stream() -> bytes:
    """A Flash/3D RichMedia annotation, its name hidden by the object stream's compression."""
    annotation = (
        b"<< /Type /Annot /Subtype /RichMedia /Rect [0 0 10 10] "
        b"/RichMediaContent << /Configurations [] >> >>"
    )
    return pdf_object_stream([CATALOG, PAGES, PAGE_WITH_ANNOT, annotation])


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
    b"<script>alert(document.cookie)</script></svg>"
)
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 240 + b"PE\x00\x00"


# --- Fixtures and helpers --------------------------------------------------------------


@pytest.fixture
def private_root(_private_files) -> Path:
    return _private_files


@pytest.fixture
def fresh_draft(ani, office_a, passport_service) -> Application:
    """Ani's passport draft at step 3, with no document uploaded yet."""
    application = services.application_start(
        user=ani, service=passport_service, office=office_a, person=None
    )
    Application.objects.filter(pk=application.pk).update(step_reached=3)
    application.refresh_from_db()
    return application


@pytest.fixture
def stay_permit_draft(ani, office_a) -> Application:
    """A limited stay permit draft: its photo requirement takes JPEG and PNG only, 1 MB."""
    service = Service.objects.get(code="izin-tinggal-terbatas")
    application = services.application_start(
        user=ani, service=service, office=office_a, person=None
    )
    Application.objects.filter(pk=application.pk).update(step_reached=3)
    application.refresh_from_db()
    return application


@pytest.fixture
def ani_client(client, ani):
    client.force_login(ani)
    return client


def requirement_of(application: Application, code: str = "ktp") -> Requirement:
    return application.service.requirements.get(code=code)


def upload_url(application: Application, requirement: Requirement) -> str:
    return reverse("applications:upload", args=[application.reference, requirement.pk])


def post_file(client, application, requirement, name: str, content: bytes, content_type=""):
    upload = SimpleUploadedFile(name, content, content_type=content_type or "image/jpeg")
    return client.post(upload_url(application, requirement), {f"doc{requirement.pk}-file": upload})


def files_under(root: Path) -> set[str]:
    if not root.exists():
        return set()
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def stored_bytes(document: Document) -> bytes:
    with document.file.open("rb") as handle:
        return handle.read()


def shown(msgid: str, **params) -> str:
    """The message as ani (Indonesian by default) reads it on the page."""
    text = in_language("id", msgid)
    return text % params if params else text


# --- Accepted files: what is stored is the cleaned version --------------------------------


def test_a_png_with_html_appended_is_stored_re_encoded_without_the_script(ani_client, fresh_draft):
    requirement = requirement_of(fresh_draft)
    polyglot = png_bytes() + b"<html><body><script>alert(document.cookie)</script></body></html>"

    response = post_file(ani_client, fresh_draft, requirement, "ktp.png", polyglot)

    assert response.status_code == 302
    document = Document.objects.get(application=fresh_draft, requirement=requirement)
    content = stored_bytes(document)
    assert b"<script" not in content
    assert b"<html" not in content
    assert content != polyglot
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    assert document.content_type == "image/png"
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size == len(content)
    with Image.open(io.BytesIO(content)) as image:
        assert image.size == (120, 80)


def test_a_jpeg_with_a_zip_appended_is_stored_without_the_zip(ani_client, fresh_draft):
    requirement = requirement_of(fresh_draft)
    sneaky = jpeg_bytes() + zip_bytes()
    assert b"PK\x03\x04" in sneaky

    response = post_file(ani_client, fresh_draft, requirement, "ktp.jpg", sneaky)

    assert response.status_code == 302
    content = stored_bytes(Document.objects.get(application=fresh_draft))
    assert b"PK\x03\x04" not in content
    assert b"payload.html" not in content
    assert content.startswith(b"\xff\xd8\xff")
    assert not zipfile.is_zipfile(io.BytesIO(content))


def test_gps_and_exif_are_removed_from_a_jpeg(ani_client, fresh_draft):
    requirement = requirement_of(fresh_draft)
    photo = jpeg_with_gps()
    with Image.open(io.BytesIO(photo)) as original:
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the corpus really has GPS

    response = post_file(ani_client, fresh_draft, requirement, "ktp.jpg", photo)

    assert response.status_code == 302
    content = stored_bytes(Document.objects.get(application=fresh_draft))
    assert b"Exif" not in content
    assert b"PhoneCo" not in content
    with Image.open(io.BytesIO(content)) as stored:
        assert dict(stored.getexif()) == {}
        assert stored.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}


def test_a_png_text_chunk_is_not_carried_over(ani_client, fresh_draft):
    requirement = requirement_of(fresh_draft)

    post_file(
        ani_client, fresh_draft, requirement, "ktp.png", png_with_text_chunk(b"<script>x</script>")
    )

    content = stored_bytes(Document.objects.get(application=fresh_draft))
    assert b"<script>" not in content
    assert b"tEXt" not in content


def test_a_minimal_pdf_is_accepted_and_stored_as_it_is(ani_client, fresh_draft):
    requirement = requirement_of(fresh_draft)
    pdf = pdf_blank()

    response = post_file(
        ani_client, fresh_draft, requirement, "ktp.pdf", pdf, content_type="application/pdf"
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("applications:step", args=[fresh_draft.reference, 3])
    document = Document.objects.get(application=fresh_draft)
    assert stored_bytes(document) == pdf
    assert document.content_type == "application/pdf"
    assert document.file.name.endswith(".pdf")
    assert document.sha256 == hashlib.sha256(pdf).hexdigest()
    assert document.state == Document.State.PENDING


def test_a_harmless_pdf_written_with_an_object_stream_is_accepted(ani_client, fresh_draft):
    """The control for the compressed-object tests: object streams alone are fine."""
    response = post_file(
        ani_client,
        fresh_draft,
        requirement_of(fresh_draft),
        "ktp.pdf",
        pdf_object_stream([CATALOG, PAGES, PAGE]),
    )

    assert response.status_code == 302
    assert Document.objects.filter(application=fresh_draft).count() == 1


def test_the_type_is_decided_by_content_not_by_the_name_or_the_browser(ani_client, fresh_draft):
    requirement = requirement_of(fresh_draft)

    response = post_file(
        ani_client,
        fresh_draft,
        requirement,
        "scan.pdf",
        png_bytes(),
        content_type="application/pdf",
    )

    assert response.status_code == 302
    document = Document.objects.get(application=fresh_draft)
    assert document.content_type == "image/png"
    assert document.file.name.endswith(".png")


# --- Refusals: 400, a readable message, nothing written ----------------------------------

CORPUS = [
    # (id, file name, content builder, message, message params)
    ("png-header-30000x30000", "bomb.png", lambda: png_header_only(30000, 30000),
     TOO_BIG_PICTURE, {}),
    ("png-wider-than-10000", "wide.png", lambda: png_header_only(12000, 100),
     "The picture is too big (%(width)s × %(height)s pixels). Take the photo at a lower "
     "resolution.", {"width": 12000, "height": 100}),
    ("pdf-javascript", "surat.pdf", pdf_with_javascript, UNSAFE_PDF, {}),
    ("pdf-open-action", "surat.pdf", pdf_with_open_action, UNSAFE_PDF, {}),
    ("pdf-hex-escaped-name", "surat.pdf", pdf_with_hex_escaped_names, UNSAFE_PDF, {}),
    ("pdf-js-in-object-stream", "surat.pdf", pdf_with_js_in_object_stream,
     UNSAFE_PDF, {}),
    ("pdf-encrypted", "surat.pdf", pdf_encrypted, PASSWORD_PDF, {}),
    ("pdf-31-pages", "surat.pdf", lambda: pdf_blank(31), TOO_MANY_PAGES,
     {"pages": 31, "limit": 30}),
    ("svg-with-script", "ktp.svg", lambda: SVG, NOT_A_TYPE,
     {"allowed": "PDF, JPEG, PNG"}),
    ("exe-renamed-jpg", "ktp.jpg", lambda: WINDOWS_EXE, NOT_A_TYPE,
     {"allowed": "PDF, JPEG, PNG"}),
    ("html-named-png", "ktp.png", lambda: b"<html><script>alert(1)</script></html>",
     NOT_A_TYPE, {"allowed": "PDF, JPEG, PNG"}),
    ("truncated-jpeg", "ktp.jpg", lambda: noisy_jpeg_bytes()[:1500], DAMAGED, {}),
    ("jpeg-magic-only", "ktp.jpg", lambda: b"\xff\xd8\xff\xe0" + b"\x00" * 100, DAMAGED,
     {}),
    ("pdf-magic-only", "ktp.pdf", lambda: b"%PDF-1.7\n%%EOF\n", DAMAGED, {}),
    ("empty", "ktp.jpg", lambda: b"", EMPTY, {}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "build", "message", "params"),
    [pytest.param(*case[1:], id=case[0]) for case in CORPUS],
)
def test_a_hostile_or_broken_file_is_refused_and_nothing_is_kept(
    ani_client, fresh_draft, private_root, monkeypatch, name, build, message, params
):
    # Pillow's own default; WeasyPrint flips it process-wide (see the xfail test below).
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)
    requirement = requirement_of(fresh_draft, "ktp")
    before = files_under(private_root)

    response = post_file(ani_client, fresh_draft, requirement, name, build())

    assert response.status_code == 400
    assert shown(message, **params) in page_text(response)
    assert not Document.objects.exists()
    assert files_under(private_root) == before


def test_a_truncated_jpeg_is_refused_even_after_a_pdf_was_rendered_in_the_process(
    ani_client, fresh_draft, private_root, monkeypatch
):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", ImageFile.LOAD_TRUNCATED_IMAGES)
    import weasyprint.images  # noqa: F401  what imigrasi.pdf.render_pdf imports

    # weasyprint/images.py does this at import; repeat it in case the module was
    # imported before an earlier test restored Pillow's default.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)

    response = post_file(
        ani_client, fresh_draft, requirement_of(fresh_draft), "k.jpg", noisy_jpeg_bytes()[:1500]
    )

    assert response.status_code == 400
    assert not Document.objects.exists()
    assert files_under(private_root) == set()


def test_the_refusal_is_shown_next_to_the_file_field(ani_client, fresh_draft):
    requirement = requirement_of(fresh_draft)

    response = post_file(ani_client, fresh_draft, requirement, "ktp.jpg", WINDOWS_EXE)

    body = response.content.decode()
    assert html_lang(response) == "id"
    field_id = f"id_doc{requirement.pk}-file"
    assert re.search(rf'id="{field_id}"[^>]*class="form-control is-invalid"', body)
    assert f'id="{field_id}-error" role="alert"' in body
    assert response.context["rows"][0][2].errors["file"] == [
        shown(NOT_A_TYPE, allowed="PDF, JPEG, PNG")
    ]


def test_an_english_reader_gets_the_refusal_in_english(ani_client, ani, fresh_draft):
    ani.preferred_language = "en"
    ani.save(update_fields=["preferred_language"])

    response = post_file(ani_client, fresh_draft, requirement_of(fresh_draft), "x.svg", SVG)

    assert response.status_code == 400
    assert (
        "This file is not a PDF, JPEG, PNG file. Scan or photograph the document again."
        in page_text(response)
    )


def test_a_pdf_is_refused_for_the_photo_which_takes_only_jpeg_and_png(
    ani_client, stay_permit_draft, private_root
):
    photo = requirement_of(stay_permit_draft, "pas-foto")
    assert photo.types == ["jpeg", "png"]

    response = post_file(
        ani_client, stay_permit_draft, photo, "foto.pdf", pdf_blank(), "application/pdf"
    )

    assert response.status_code == 400
    assert shown(NOT_A_TYPE, allowed="JPEG, PNG") in page_text(response)
    assert not Document.objects.exists()
    assert files_under(private_root) == set()


def test_a_file_over_the_requirements_size_limit_is_refused(
    ani_client, stay_permit_draft, private_root
):
    photo = requirement_of(stay_permit_draft, "pas-foto")
    assert photo.max_size_kb == 1024
    oversized = jpeg_bytes() + b"\x00" * (1536 * 1024)

    response = post_file(ani_client, stay_permit_draft, photo, "foto.jpg", oversized)

    assert response.status_code == 400
    assert shown(TOO_LARGE, size="1,5 MB", limit="1,0 MB") in page_text(response)
    assert not Document.objects.exists()
    assert files_under(private_root) == set()


def test_the_total_for_one_application_is_capped_and_the_stored_file_removed(
    ani_client, fresh_draft, private_root, settings
):
    settings.APPLICATION_UPLOAD_TOTAL_MB = 0

    response = post_file(ani_client, fresh_draft, requirement_of(fresh_draft), "k.png", png_bytes())

    assert response.status_code == 400
    assert shown("All documents together may not exceed %(limit)s MB.", limit=0) in page_text(
        response
    )
    assert not Document.objects.exists()
    assert files_under(private_root) == set()


def test_more_files_than_allowed_in_one_request_are_refused(ani_client, fresh_draft, settings):
    requirement = requirement_of(fresh_draft)
    field = f"doc{requirement.pk}-file"
    files = [SimpleUploadedFile(f"f{i}.png", png_bytes()) for i in range(3)]
    assert len(files) > settings.DATA_UPLOAD_MAX_NUMBER_FILES

    response = ani_client.post(upload_url(fresh_draft, requirement), {field: files})

    assert response.status_code == 400
    assert not Document.objects.exists()


def test_a_requirement_of_another_service_is_not_found(
    ani_client, fresh_draft, private_root, permit_service
):
    foreign = permit_service.requirements.first()

    response = post_file(ani_client, fresh_draft, foreign, "ktp.png", png_bytes())

    assert response.status_code == 404
    assert not Document.objects.exists()
    assert files_under(private_root) == set()


def test_the_service_refuses_a_requirement_of_another_service(fresh_draft, permit_service):
    foreign = permit_service.requirements.first()

    with pytest.raises(ServiceError):
        services.document_upload(
            application=fresh_draft,
            requirement=foreign,
            upload=SimpleUploadedFile("k.png", png_bytes()),
        )
    assert not Document.objects.exists()


def test_a_pdf_carrying_an_attached_file_is_refused(ani_client, fresh_draft, private_root):
    response = post_file(
        ani_client, fresh_draft, requirement_of(fresh_draft), "surat.pdf", pdf_with_attached_file()
    )

    assert response.status_code == 400
    assert shown(UNSAFE_PDF) in page_text(response)
    assert not Document.objects.exists()
    assert files_under(private_root) == set()


def test_a_rich_media_annotation_hidden_in_an_object_stream_is_refused(
    ani_client, fresh_draft, private_root
):
    content = pdf_with_rich_media_in_object_stream()
    assert not uploads._RAW_FORBIDDEN.search(content)  # invisible to the byte search

    response = post_file(ani_client, fresh_draft, requirement_of(fresh_draft), "s.pdf", content)

    assert response.status_code == 400
    assert not Document.objects.exists()


def test_the_hidden_corpus_really_hides_its_names_from_a_byte_search():
    """Guards the corpus: these files test the structural walk, not the regex."""
    assert not uploads._RAW_FORBIDDEN.search(pdf_with_hex_escaped_names())
    assert not uploads._RAW_FORBIDDEN.search(pdf_with_js_in_object_stream())
    assert uploads._RAW_FORBIDDEN.search(pdf_with_javascript())


# --- Names: the server chooses where a file lives ------------------------------------------

HOSTILE_NAMES = [
    pytest.param("../../x.jpg", id="path-traversal"),
    pytest.param("a.jpg.php", id="double-extension"),
    pytest.param("n" * 296 + ".jpg", id="300-characters"),
    pytest.param("foto\u202egpj.exe", id="rtl-override"),
    pytest.param("ktp\x00\x1b[31m.jpg", id="control-characters"),
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_never_reaches_the_disk(ani_client, fresh_draft, private_root, name):
    response = post_file(ani_client, fresh_draft, requirement_of(fresh_draft), name, jpeg_bytes())

    assert response.status_code == 302
    document = Document.objects.get(application=fresh_draft)
    assert STORED_NAME.match(document.file.name), document.file.name
    assert document.file.name.endswith(".jpg")
    assert files_under(private_root) == {document.file.name}
    assert_sanitised(document.original_name)


def test_the_stored_extension_follows_the_content_not_the_name(ani_client, fresh_draft):
    post_file(ani_client, fresh_draft, requirement_of(fresh_draft), "a.jpg.php", png_bytes())

    document = Document.objects.get(application=fresh_draft)
    assert STORED_NAME.match(document.file.name)
    assert document.file.name.endswith(".png")
    assert ".php" not in document.file.name


def assert_sanitised(name: str) -> None:
    assert 0 < len(name) <= 100
    assert "/" not in name and "\\" not in name
    assert not name.startswith(".")
    assert all(ord(ch) >= 32 for ch in name)
    assert not set(name) & {"\u202e", "\u202d", "\u200f", "\u200e", "\u2066", "\u2067", "\u2069"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../x.jpg", "x.jpg"),
        ("..\\..\\windows\\x.jpg", "x.jpg"),
        ("/etc/passwd", "passwd"),
        ("a.jpg.php", "a.jpg.php"),
        ("foto\u202egpj.exe", "fotogpj.exe"),
        ("ktp\u200f\u2067.png", "ktp.png"),
        ("ktp\x00\r\n.jpg", "ktp.jpg"),
        ('<img src=x onerror="a">.png', "img src=x onerror=a.png"),
        ("...", "dokumen"),
        ("", "dokumen"),
    ],
)
def test_the_original_name_is_kept_only_in_a_sanitised_form(raw, expected):
    assert uploads.sanitise_name(raw) == expected


def test_a_long_name_is_cut_to_100_characters_keeping_its_extension():
    name = uploads.sanitise_name("n" * 296 + ".jpg")

    assert len(name) == 100
    assert name.endswith(".jpg")


def test_the_upload_service_sanitises_a_name_the_browser_did_not_clean(fresh_draft):
    upload = SimpleUploadedFile("x.jpg", jpeg_bytes())
    upload._name = "../../\u202eetc/x.jpg"  # as a hand-made request could send it

    document = services.document_upload(
        application=fresh_draft, requirement=requirement_of(fresh_draft), upload=upload
    )

    assert document.original_name == "x.jpg"
    assert STORED_NAME.match(document.file.name)


# --- When uploads are allowed ---------------------------------------------------------------


def test_replacing_a_document_deletes_the_old_file_after_commit(
    ani_client, fresh_draft, private_root
):
    requirement = requirement_of(fresh_draft)
    post_file(ani_client, fresh_draft, requirement, "first.png", png_bytes())
    old_name = Document.objects.get(application=fresh_draft).file.name

    with TestCase.captureOnCommitCallbacks(execute=False) as after_commit:
        response = post_file(ani_client, fresh_draft, requirement, "second.jpg", jpeg_bytes())
    # Until the transaction commits the old file stays: a rollback would still need it.
    assert (private_root / old_name).exists()
    for callback in after_commit:
        callback()

    assert response.status_code == 302
    document = Document.objects.get(application=fresh_draft)
    assert document.file.name != old_name
    assert document.original_name == "second.jpg"
    assert not (private_root / old_name).exists()
    assert files_under(private_root) == {document.file.name}
    assert not SupersededDocument.objects.exists()  # a draft keeps no earlier versions


def test_a_refused_replacement_keeps_the_earlier_document(ani_client, fresh_draft, private_root):
    requirement = requirement_of(fresh_draft)
    post_file(ani_client, fresh_draft, requirement, "first.png", png_bytes())
    kept = Document.objects.get(application=fresh_draft)

    response = post_file(ani_client, fresh_draft, requirement, "evil.jpg", WINDOWS_EXE)

    assert response.status_code == 400
    document = Document.objects.get(application=fresh_draft)
    assert (document.file.name, document.sha256) == (kept.file.name, kept.sha256)
    assert files_under(private_root) == {kept.file.name}


def test_uploading_every_document_lets_the_draft_reach_the_review_step(ani, office_a):
    service = Service.objects.get(code="paspor-elektronik-baru")
    application = services.application_start(
        user=ani, service=service, office=office_a, person=None
    )

    for requirement in service.requirements.all():
        services.document_upload(
            application=application,
            requirement=requirement,
            upload=SimpleUploadedFile(f"{requirement.code}.png", png_bytes()),
        )

    application.refresh_from_db()
    assert application.step_reached == 4


def test_uploads_are_refused_once_the_application_is_sent(ani_client, submitted, private_root):
    requirement = requirement_of(submitted)
    before_files = files_under(private_root)
    before = Document.objects.get(application=submitted, requirement=requirement)

    response = post_file(ani_client, submitted, requirement, "late.png", png_bytes())

    assert response.status_code == 400
    after = Document.objects.get(application=submitted, requirement=requirement)
    assert (after.file.name, after.sha256) == (before.file.name, before.sha256)
    assert files_under(private_root) == before_files


def test_the_refusal_after_sending_tells_the_citizen_why(ani_client, submitted):
    response = post_file(ani_client, submitted, requirement_of(submitted), "late.png", png_bytes())

    assert response.status_code == 400
    assert shown(NOT_EDITABLE) in page_text(response)


@pytest.fixture
def revision(submitted, budi):
    """Ani's application sent back by officer budi: KTP rejected, family card accepted."""
    advance(submitted, Status.REVISION_REQUESTED, officer=budi)
    Document.objects.filter(application=submitted, requirement__code="ktp").update(
        state=Document.State.REJECTED, rejection_reason="Foto KTP buram"
    )
    Document.objects.filter(application=submitted).exclude(requirement__code="ktp").update(
        state=Document.State.ACCEPTED
    )
    submitted.refresh_from_db()
    return submitted


def test_a_rejected_document_can_be_replaced_when_a_revision_is_requested(
    ani_client, revision, private_root
):
    requirement = requirement_of(revision, "ktp")
    old = Document.objects.get(application=revision, requirement=requirement)
    assert not SupersededDocument.objects.exists()

    with committed():
        response = post_file(ani_client, revision, requirement, "ktp-jelas.png", png_bytes())

    assert response.status_code == 302
    assert response["Location"] == revision.get_absolute_url()
    document = Document.objects.get(application=revision, requirement=requirement)
    assert document.pk == old.pk
    assert document.state == Document.State.PENDING
    assert document.rejection_reason == ""
    assert document.original_name == "ktp-jelas.png"
    assert document.file.name != old.file.name
    assert (private_root / document.file.name).exists()
    # After submission the old file is kept, even once committed: the officer decided on it.
    assert (private_root / old.file.name).exists()
    (earlier,) = SupersededDocument.objects.filter(document=document)
    assert (earlier.file.name, earlier.original_name, earlier.sha256) == (
        old.file.name,
        old.original_name,
        old.sha256,
    )
    assert earlier.state == Document.State.REJECTED
    assert earlier.rejection_reason == "Foto KTP buram"
    assert earlier.uploaded_at == old.uploaded_at


def test_an_accepted_document_cannot_be_replaced_during_a_revision(
    ani_client, revision, private_root
):
    requirement = requirement_of(revision, "kk")
    before = Document.objects.get(application=revision, requirement=requirement)
    before_files = files_under(private_root)

    response = post_file(ani_client, revision, requirement, "kk-baru.png", png_bytes())

    assert response.status_code == 400
    after = Document.objects.get(application=revision, requirement=requirement)
    assert (after.file.name, after.state) == (before.file.name, Document.State.ACCEPTED)
    assert files_under(private_root) == before_files


def test_the_refusal_for_an_accepted_document_tells_the_citizen_why(ani_client, revision):
    response = post_file(
        ani_client, revision, requirement_of(revision, "kk"), "kk-baru.png", png_bytes()
    )

    assert shown(ACCEPTED_STAYS) in page_text(response)


def test_the_service_refuses_to_replace_an_accepted_document_with_a_clear_message(revision):
    with pytest.raises(ServiceError) as refused:
        services.document_upload(
            application=revision,
            requirement=requirement_of(revision, "kk"),
            upload=SimpleUploadedFile("kk.png", png_bytes()),
        )

    assert refused.value.message == in_language("id", ACCEPTED_STAYS)


def test_an_upload_with_no_file_asks_for_one(ani_client, fresh_draft):
    requirement = requirement_of(fresh_draft)

    response = ani_client.post(upload_url(fresh_draft, requirement), {})

    assert response.status_code == 400
    assert not Document.objects.exists()


def test_uploads_per_day_are_limited_per_account_with_a_friendly_page(
    ani_client, fresh_draft, settings, eko
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "upload": (2, 24 * 3600)}
    requirement = requirement_of(fresh_draft)

    for _ in range(2):
        response = post_file(ani_client, fresh_draft, requirement, "ktp.png", png_bytes())
        assert response.status_code == 302
    refused = post_file(ani_client, fresh_draft, requirement, "ktp.png", png_bytes())

    assert refused.status_code == 429
    assert refused["Retry-After"] == str(24 * 3600)
    assert html_lang(refused) == "id"
    # The day's count is the account's: another citizen behind the same address is not refused.
    other = services.application_start(
        user=eko, service=fresh_draft.service, office=fresh_draft.office, person=None
    )
    Application.objects.filter(pk=other.pk).update(step_reached=3)
    ani_client.force_login(eko)
    response = post_file(ani_client, other, requirement_of(other), "ktp.png", png_bytes())
    assert response.status_code == 302
