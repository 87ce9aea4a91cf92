"""The seeded service catalogue: services, their documents and their dated fees.

Fees come from `data/tariffs.json` (PNBP under PP 28/2019 and PP 45/2024,
copied from the shared reference data). `sync()` is idempotent: a data
migration runs it on a fresh database and again when this file changes;
rows an administrator added are left alone.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

TARIFFS_FILE = Path(__file__).with_name("data") / "tariffs.json"

# Documents, reused across services: code → (name_id, name_en, help_id, help_en, types, max KB)
DOCUMENTS = {
    "ktp": (
        "KTP elektronik",
        "Electronic identity card (KTP)",
        "Foto atau pindaian KTP yang masih berlaku, kedua sisi dalam satu berkas.",
        "Photo or scan of a valid KTP, both sides in one file.",
        "pdf,jpeg,png",
        2048,
    ),
    "kk": (
        "Kartu Keluarga",
        "Family card (Kartu Keluarga)",
        "Pindaian Kartu Keluarga terbaru.",
        "Scan of the latest family card.",
        "pdf,jpeg,png",
        2048,
    ),
    "bukti-identitas": (
        "Akta kelahiran, ijazah, atau buku nikah",
        "Birth certificate, school certificate or marriage book",
        "Salah satu dokumen yang memuat nama, tempat dan tanggal lahir, serta nama orang tua.",
        "One document showing name, place and date of birth and the parents' names.",
        "pdf,jpeg,png",
        4096,
    ),
    "paspor-lama": (
        "Paspor lama (halaman identitas)",
        "Old passport (identity page)",
        "Pindaian halaman data paspor lama.",
        "Scan of the old passport's data page.",
        "pdf,jpeg,png",
        2048,
    ),
    "laporan-polisi": (
        "Surat keterangan hilang dari kepolisian",
        "Police report of the loss",
        "Surat tanda penerimaan laporan kehilangan dari kantor polisi.",
        "The police's acknowledgement of the loss report.",
        "pdf,jpeg,png",
        4096,
    ),
    "paspor-wna": (
        "Paspor kebangsaan (halaman identitas)",
        "National passport (identity page)",
        "Paspor asing yang masih berlaku minimal 6 bulan.",
        "Foreign passport valid for at least 6 more months.",
        "pdf,jpeg,png",
        2048,
    ),
    "izin-tinggal": (
        "Izin tinggal yang sedang berlaku",
        "Current stay permit",
        "Halaman izin tinggal atau cap masuk terakhir.",
        "The stay permit page or the last entry stamp.",
        "pdf,jpeg,png",
        2048,
    ),
    "surat-sponsor": (
        "Surat penjaminan dari sponsor",
        "Sponsor's letter of guarantee",
        "Ditandatangani sponsor (perorangan atau perusahaan) dengan fotokopi identitasnya.",
        "Signed by the sponsor (person or company) with a copy of their identity.",
        "pdf",
        4096,
    ),
    "pas-foto": (
        "Pas foto berwarna latar putih",
        "Colour photo on a white background",
        "Foto wajah terbaru, tampak depan.",
        "A recent front-facing photo.",
        "jpeg,png",
        1024,
    ),
}

PASSPORT_DOCS = ["ktp", "kk", "bukti-identitas"]

# code, prefix, category, details, interview, days, tariff keys, documents, names, descriptions
SERVICES = [
    {
        "code": "paspor-elektronik-baru",
        "prefix": "PSP",
        "category": "passport",
        "details": "passport",
        "interview": True,
        "days": 4,
        "tariffs": ["passport-electronic-10y", "passport-electronic-48p"],
        "documents": PASSPORT_DOCS,
        "name_id": "Paspor elektronik baru (10 tahun)",
        "name_en": "New electronic passport (10 years)",
        "description_id": (
            "Paspor dengan cip yang menyimpan data biometrik, berlaku 10 tahun untuk WNI "
            "dewasa. Bebas visa ke lebih banyak negara dan lebih cepat di gerbang otomatis."
        ),
        "description_en": (
            "A passport with a chip holding biometric data, valid 10 years for adult "
            "citizens. Visa-free to more countries and faster at automatic gates."
        ),
    },
    {
        "code": "paspor-biasa-baru",
        "prefix": "PSP",
        "category": "passport",
        "details": "passport",
        "interview": True,
        "days": 4,
        "tariffs": ["passport-regular-10y", "passport-regular-48p"],
        "documents": PASSPORT_DOCS,
        "name_id": "Paspor biasa baru (non-elektronik, 10 tahun)",
        "name_en": "New ordinary passport (non-electronic, 10 years)",
        "description_id": "Paspor biasa tanpa cip untuk WNI, berlaku 10 tahun.",
        "description_en": "An ordinary passport without a chip for citizens, valid 10 years.",
    },
    {
        "code": "paspor-penggantian-habis",
        "prefix": "PSP",
        "category": "passport",
        "details": "replacement",
        "interview": True,
        "days": 4,
        "tariffs": ["passport-regular-10y", "passport-regular-48p"],
        "documents": ["ktp", "paspor-lama"],
        "name_id": "Penggantian paspor habis berlaku atau halaman penuh",
        "name_en": "Replacement passport: expired or pages full",
        "description_id": (
            "Untuk paspor yang sudah atau hampir habis masa berlakunya, atau halamannya penuh. "
            "Bawa paspor lama saat wawancara."
        ),
        "description_en": (
            "For a passport that has expired or is about to, or whose pages are full. "
            "Bring the old passport to the interview."
        ),
    },
    {
        "code": "paspor-penggantian-hilang",
        "prefix": "PSP",
        "category": "passport",
        "details": "replacement",
        "interview": True,
        "days": 7,
        "tariffs": ["passport-regular-10y", "passport-regular-48p", "passport-lost-charge"],
        "documents": ["ktp", "kk", "bukti-identitas", "laporan-polisi"],
        "name_id": "Penggantian paspor hilang",
        "name_en": "Replacement for a lost passport",
        "description_id": (
            "Untuk paspor yang hilang. Diperlukan surat keterangan hilang dari kepolisian dan "
            "pemeriksaan oleh petugas. Biaya beban tidak dikenakan bila hilang karena keadaan "
            "kahar (bencana)."
        ),
        "description_en": (
            "For a lost passport. A police report and an examination by an officer are "
            "needed. The charge is waived when lost through force majeure (a disaster)."
        ),
    },
    {
        "code": "paspor-penggantian-rusak",
        "prefix": "PSP",
        "category": "passport",
        "details": "replacement",
        "interview": True,
        "days": 7,
        "tariffs": ["passport-regular-10y", "passport-regular-48p", "passport-damaged-charge"],
        "documents": ["ktp", "kk", "paspor-lama"],
        "name_id": "Penggantian paspor rusak",
        "name_en": "Replacement for a damaged passport",
        "description_id": (
            "Untuk paspor yang rusak. Bawa paspor yang rusak saat wawancara. Biaya beban tidak "
            "dikenakan bila rusak karena keadaan kahar."
        ),
        "description_en": (
            "For a damaged passport. Bring it to the interview. The charge is waived when "
            "damaged through force majeure."
        ),
    },
    {
        "code": "izin-tinggal-kunjungan",
        "prefix": "ITK",
        "category": "visit_permit",
        "details": "permit",
        "interview": False,
        "days": 3,
        "tariffs": ["visit-permit-30d"],
        "documents": ["paspor-wna", "izin-tinggal", "surat-sponsor"],
        "name_id": "Perpanjangan izin tinggal kunjungan (30 hari)",
        "name_en": "Visit stay permit extension (30 days)",
        "description_id": "Perpanjangan izin tinggal kunjungan bagi WNA, hingga 30 hari.",
        "description_en": "Extension of a foreign visitor's stay permit, up to 30 days.",
    },
    {
        "code": "izin-tinggal-terbatas",
        "prefix": "ITS",
        "category": "stay_permit",
        "details": "permit",
        "interview": True,
        "days": 5,
        "tariffs": ["stay-permit-itas-2y", "stay-permit-itas-1y"],
        "documents": ["paspor-wna", "izin-tinggal", "surat-sponsor", "pas-foto"],
        "name_id": "Izin Tinggal Terbatas (ITAS)",
        "name_en": "Limited stay permit (ITAS)",
        "description_id": "Izin tinggal bagi WNA yang bekerja, belajar, atau ikut keluarga.",
        "description_en": "A stay permit for foreigners who work, study or join family.",
    },
    {
        "code": "izin-tinggal-tetap",
        "prefix": "ITP",
        "category": "stay_permit",
        "details": "permit",
        "interview": True,
        "days": 10,
        "tariffs": ["stay-permit-itap-5y"],
        "documents": ["paspor-wna", "izin-tinggal", "surat-sponsor", "pas-foto"],
        "name_id": "Izin Tinggal Tetap (ITAP)",
        "name_en": "Permanent stay permit (ITAP)",
        "description_id": "Izin tinggal tetap bagi WNA yang memenuhi syarat, berlaku 5 tahun.",
        "description_en": "A permanent stay permit for eligible foreigners, valid 5 years.",
    },
    {
        "code": "izin-masuk-kembali",
        "prefix": "IMK",
        "category": "reentry_permit",
        "details": "permit",
        "interview": False,
        "days": 3,
        "tariffs": ["reentry-permit-1y"],
        "documents": ["paspor-wna", "izin-tinggal"],
        "name_id": "Izin Masuk Kembali (1 tahun)",
        "name_en": "Re-entry permit (1 year)",
        "description_id": "Bagi pemegang ITAS/ITAP yang akan keluar dan kembali ke Indonesia.",
        "description_en": "For ITAS/ITAP holders who will leave and come back to Indonesia.",
    },
]


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def load_tariffs() -> dict[str, dict]:
    data = json.loads(TARIFFS_FILE.read_text(encoding="utf-8"))
    regimes = {r["code"]: r for r in data["regimes"]}
    rows = {}
    for row in data["tariffs"]:
        regime = regimes[row["regime"]]
        rows[row["service"]] = {
            **row,
            "valid_from": _date(regime["valid_from"]),
            "valid_to": _date(regime["valid_to"]),
        }
    return rows


def billing_settings() -> dict:
    return json.loads(TARIFFS_FILE.read_text(encoding="utf-8"))["billing"]


def sync(apps=None) -> None:
    """Create the seeded services, requirements and tariffs that are missing.

    Rows that exist are left as administrators edited them: a later run
    never reopens a closed tariff or undoes a correction.
    """
    if apps is None:
        from django.apps import apps as registry

        apps = registry
    service_model = apps.get_model("applications", "Service")
    tariff_model = apps.get_model("applications", "Tariff")
    requirement_model = apps.get_model("applications", "Requirement")
    tariffs = load_tariffs()
    for position, spec in enumerate(SERVICES):
        service, _ = service_model.objects.get_or_create(
            code=spec["code"],
            defaults={
                "reference_prefix": spec["prefix"],
                "category": spec["category"],
                "details": spec["details"],
                "name_id": spec["name_id"],
                "name_en": spec["name_en"],
                "description_id": spec["description_id"],
                "description_en": spec["description_en"],
                "processing_days": spec["days"],
                "needs_interview": spec["interview"],
                "ordering": position * 10,
            },
        )
        for order, code in enumerate(spec["documents"]):
            name_id, name_en, help_id, help_en, types, max_kb = DOCUMENTS[code]
            requirement_model.objects.get_or_create(
                service=service,
                code=code,
                defaults={
                    "name_id": name_id,
                    "name_en": name_en,
                    "help_id": help_id,
                    "help_en": help_en,
                    "accepted_types": types,
                    "max_size_kb": max_kb,
                    "ordering": order * 10,
                },
            )
        for key in spec["tariffs"]:
            row = tariffs[key]
            tariff_model.objects.get_or_create(
                service=service,
                legal_basis=row["regime"],
                kind=row.get("kind", "base"),
                label_id=row["name_id"],
                defaults={
                    "label_en": row["name_en"],
                    "amount": row["amount"],
                    "valid_from": row["valid_from"],
                    "valid_to": row["valid_to"],
                    "verified": row["verified"],
                    "note": row.get("note", ""),
                },
            )
