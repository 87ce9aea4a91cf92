"""Check an uploaded document and turn it into bytes that are safe to keep.

TRUST.md, "Uploaded documents": the type is decided by the content (magic
bytes), never by the name or the browser's Content-Type; images are
decoded with limits and re-encoded (dropping EXIF/GPS and anything hidden
after the image, so polyglots die); PDFs are parsed and refused when
encrypted or when they carry active content. Every refusal is a
`ServiceError` whose message a citizen understands.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from imigrasi.errors import ServiceError

MAX_IMAGE_PIXELS = 40_000_000
MAX_IMAGE_SIDE = 10_000
MAX_PDF_PAGES = 30
# Large photos are scaled down: a KTP is readable at this size and the file stays small.
STORE_IMAGE_SIDE = 2400
# Names whose presence makes a PDF do something when opened, or carry other files.
PDF_FORBIDDEN = (
    "/JavaScript",
    "/JS",
    "/OpenAction",
    "/AA",
    "/Launch",
    "/EmbeddedFile",
    "/EmbeddedFiles",
    "/RichMedia",
    "/XFA",
    "/SubmitForm",
    "/ImportData",
    "/GoToR",
    "/EF",
)
# Annotation kinds that play media or carry files: refused as `/Subtype` values.
PDF_FORBIDDEN_SUBTYPES = frozenset(
    {"/RichMedia", "/FileAttachment", "/Screen", "/Movie", "/Sound", "/3D"}
)
# A quick look at the raw bytes for long, unambiguous names (the object walk
# below is the real check; short names like /JS or /AA also occur in ordinary
# text such as a police report number "LP/B/123/AA/2026", so only the walk,
# which sees dictionary keys, judges those).
_RAW_FORBIDDEN = re.compile(
    rb"/(JavaScript|OpenAction|Launch|EmbeddedFiles?|RichMedia|XFA|SubmitForm|ImportData"
    rb"|FileAttachment)(?![A-Za-z0-9])"
)

Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


@dataclass(frozen=True)
class CleanFile:
    content: bytes
    kind: str  # pdf, jpeg, png
    content_type: str
    extension: str
    sha256: str
    original_name: str


CONTENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}
EXTENSIONS = {"pdf": "pdf", "jpeg": "jpg", "png": "png"}


def sniff(head: bytes) -> str:
    """The file's real type from its first bytes: pdf, jpeg, png or ""."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return ""


def sanitise_name(name: str) -> str:
    """A display-only version of the upload's name: no paths, controls or direction marks."""
    name = unicodedata.normalize("NFKC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        ch for ch in name if unicodedata.category(ch)[0] not in {"C"} and ch not in '<>:"|?*'
    )
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > 100:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 100 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 8 else name[:100]
    return name or "dokumen"


def clean_upload(upload, *, accepted: list[str], max_bytes: int) -> CleanFile:
    """Validate `upload` (a Django UploadedFile) and return what may be stored."""
    if upload is None:
        raise ServiceError(_("Choose a file to upload."))
    if upload.size == 0:
        raise ServiceError(_("The file is empty."))
    if upload.size > max_bytes:
        raise ServiceError(
            _("The file is too large (%(size)s). The limit for this document is %(limit)s.")
            % {"size": human_size(upload.size), "limit": human_size(max_bytes)}
        )
    upload.seek(0)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ServiceError(
            _("The file is too large. The limit for this document is %(limit)s.")
            % {"limit": human_size(max_bytes)}
        )
    kind = sniff(data[:16])
    if not kind or kind not in accepted:
        allowed = ", ".join(t.upper() for t in accepted)
        raise ServiceError(
            _("This file is not a %(allowed)s file. Scan or photograph the document again.")
            % {"allowed": allowed}
        )
    content = _clean_pdf(data) if kind == "pdf" else _clean_image(data, kind)
    return CleanFile(
        content=content,
        kind=kind,
        content_type=CONTENT_TYPES[kind],
        extension=EXTENSIONS[kind],
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=sanitise_name(getattr(upload, "name", "")),
    )


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")
    return f"{max(1, round(size / 1024))} KB"


def _damaged() -> ServiceError:
    return ServiceError(_("The file is damaged and cannot be opened. Save or scan it again."))


def _clean_image(data: bytes, kind: str) -> bytes:
    fmt = "JPEG" if kind == "jpeg" else "PNG"
    # WeasyPrint turns this on for the whole process when imported; a damaged
    # upload must fail here instead of being padded with grey.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
                width, height = probe.size
                if (
                    width * height > MAX_IMAGE_PIXELS
                    or max(width, height) > MAX_IMAGE_SIDE
                    or min(width, height) < 1
                ):
                    raise ServiceError(
                        _(
                            "The picture is too big (%(width)s × %(height)s pixels). "
                            "Take the photo at a lower resolution."
                        )
                        % {"width": width, "height": height}
                    )
                probe.verify()
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                image.load()
                image = ImageOps.exif_transpose(image)
                if kind == "jpeg" and image.mode not in {"RGB", "L"}:
                    image = image.convert("RGB")
                if kind == "png" and image.mode not in {"RGB", "RGBA", "L", "LA", "P"}:
                    image = image.convert("RGBA")
                image.thumbnail((STORE_IMAGE_SIDE, STORE_IMAGE_SIDE))
                out = io.BytesIO()
                # Re-encoding writes only pixels: EXIF, GPS, comments and trailing
                # data (an appended ZIP or HTML) are not carried over.
                if kind == "jpeg":
                    image.save(out, "JPEG", quality=85, optimize=True)
                else:
                    image.save(out, "PNG", optimize=True)
                return out.getvalue()
    except ServiceError:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ) as error:
        if isinstance(error, Image.DecompressionBombError | Image.DecompressionBombWarning):
            raise ServiceError(
                _("The picture is too big. Take the photo at a lower resolution.")
            ) from error
        raise _damaged() from error


def _unsafe_pdf() -> ServiceError:
    return ServiceError(
        _(
            "This PDF contains scripts, attachments or automatic actions, which are not "
            "allowed. Print it to a new PDF or scan the paper document instead."
        )
    )


def _clean_pdf(data: bytes) -> bytes:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    if _RAW_FORBIDDEN.search(data):
        raise _unsafe_pdf()
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ServiceError(
                _("This PDF is protected with a password. Upload a copy without a password.")
            )
        pages = len(reader.pages)
        if pages == 0:
            raise _damaged()
        if pages > MAX_PDF_PAGES:
            raise ServiceError(
                _("The PDF has %(pages)s pages; at most %(limit)s are allowed.")
                % {"pages": pages, "limit": MAX_PDF_PAGES}
            )
        # Walk every object reachable from the trailer: names hidden in
        # compressed object streams or written with #xx escapes show up here.
        seen: set[tuple[int, int]] = set()
        stack = [reader.trailer]
        visited = 0
        while stack:
            obj = stack.pop()
            visited += 1
            if visited > 200_000:
                raise _damaged()
            if isinstance(obj, IndirectObject):
                key = (obj.idnum, obj.generation)
                if key in seen:
                    continue
                seen.add(key)
                obj = obj.get_object()
            if isinstance(obj, DictionaryObject):
                for name, value in obj.items():
                    if (
                        name in PDF_FORBIDDEN
                        or (name == "/S" and value in PDF_FORBIDDEN)
                        or (name == "/Subtype" and value in PDF_FORBIDDEN_SUBTYPES)
                    ):
                        raise _unsafe_pdf()
                    stack.append(value)
                if hasattr(obj, "get_data") and obj.get("/Type") in {"/ObjStm", "/XRef"}:
                    continue
            elif isinstance(obj, ArrayObject):
                stack.extend(obj)
    except ServiceError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        raise _damaged() from e
    except Exception as error:  # pypdf raises many kinds on hostile input
        raise _damaged() from error
    return data
