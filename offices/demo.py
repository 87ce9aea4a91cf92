"""Demo data for `manage.py seed_demo`: the four offices of the source material.

Addresses and contacts are illustrative for the demo; an administrator
enters the real ones in the admin.
"""

from __future__ import annotations

import datetime as dt

OFFICES = [
    {
        "code": "LTG",
        "name": "Kantor Imigrasi Lampung Tengah",
        "region": "Kabupaten Lampung Tengah, Lampung",
        "address": "Jl. Lintas Sumatera, Gunung Sugih, Lampung Tengah, Lampung",
        "phone": "(0725) 529 0001",
        "email": "kanim.lampungtengah@imigrasi.example.id",
    },
    {
        "code": "LBR",
        "name": "Kantor Imigrasi Lampung Barat",
        "region": "Kabupaten Lampung Barat, Lampung",
        "address": "Jl. Raden Intan, Liwa, Lampung Barat, Lampung",
        "phone": "(0728) 21 0002",
        "email": "kanim.lampungbarat@imigrasi.example.id",
    },
    {
        "code": "LBG",
        "name": "Kantor Imigrasi Lebong",
        "region": "Kabupaten Lebong, Bengkulu",
        "address": "Jl. Raya Tes, Tubei, Lebong, Bengkulu",
        "phone": "(0732) 31 0003",
        "email": "kanim.lebong@imigrasi.example.id",
    },
    {
        "code": "PSB",
        "name": "Kantor Imigrasi Pasaman Barat",
        "region": "Kabupaten Pasaman Barat, Sumatera Barat",
        "address": "Jl. Soekarno-Hatta, Simpang Empat, Pasaman Barat, Sumatera Barat",
        "phone": "(0753) 46 0004",
        "email": "kanim.pasamanbarat@imigrasi.example.id",
    },
]

# Monday-Thursday 08.00-16.00, Friday 08.00-16.30 (civil-service hours).
OPENING_HOURS = [
    (0, dt.time(8), dt.time(16)),
    (1, dt.time(8), dt.time(16)),
    (2, dt.time(8), dt.time(16)),
    (3, dt.time(8), dt.time(16)),
    (4, dt.time(8), dt.time(16, 30)),
]

COUNTERS = [
    (1, "Loket 1", "passport"),
    (2, "Loket 2", "passport"),
    (3, "Loket 3", "permit"),
    (4, "Loket Informasi", "information"),
]

# Fixed-date national holidays; the lunar ones are entered each year in the admin.
FIXED_NATIONAL_HOLIDAYS = [
    (1, 1, "Tahun Baru Masehi"),
    (5, 1, "Hari Buruh Internasional"),
    (6, 1, "Hari Lahir Pancasila"),
    (8, 17, "Hari Kemerdekaan Republik Indonesia"),
    (12, 25, "Hari Raya Natal"),
]

# Personas shared with the tests (CONVENTIONS.md): citizen ani, officer budi of
# LTG, officer citra of LBR, supervisor dewi of all four offices.
CITIZEN = {
    "email": "ani@demo.imigrasi.id",
    "full_name": "Ani Lestari",
    # 18 Lampung, 02 Lampung Tengah, 01 district; born 12-05-1990, woman (12 + 40).
    "nik": "1802015205900001",
    "date_of_birth": dt.date(1990, 5, 12),
    "sex": "P",
    "phone": "+6281234567890",
    "address": "Jl. Merdeka No. 10, Gunung Sugih, Lampung Tengah",
}
OFFICERS = [
    {"email": "budi@demo.imigrasi.id", "full_name": "Budi Santoso", "offices": ["LTG"]},
    {"email": "citra@demo.imigrasi.id", "full_name": "Citra Dewanti", "offices": ["LBR"]},
    {"email": "eka@demo.imigrasi.id", "full_name": "Eka Saputra", "offices": ["LBG"]},
    {"email": "fajar@demo.imigrasi.id", "full_name": "Fajar Hidayat", "offices": ["PSB"]},
]
SUPERVISOR = {
    "email": "dewi@demo.imigrasi.id",
    "full_name": "Dewi Kartika",
    "offices": ["LTG", "LBR", "LBG", "PSB"],
}
