"""SMS segments: GSM-7 fits 160 characters alone and 153 per part; the
extension table counts double; anything else switches to UCS-2 (70 / 67)."""

from __future__ import annotations

import pytest

from notifications.gsm import is_gsm7, segments


@pytest.mark.parametrize(
    ("length", "expected"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_a_gsm7_text_takes_160_characters_alone_and_153_per_part(length, expected):
    assert segments("a" * length) == expected


def test_an_empty_text_takes_no_segment():
    assert segments("") == 0


def test_indonesian_text_with_accents_of_the_gsm_alphabet_stays_gsm7():
    text = "Permohonan paspor Anda disetujui. Silakan datang ke kantor imigrasi; é à ü ñ £ @ _"
    assert is_gsm7(text)
    assert segments(text) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("€" * 80, 1),  # 160 septets
        ("€" * 81, 2),  # 162 septets
        ("a" * 158 + "[", 1),  # 160
        ("a" * 159 + "]", 2),  # 161
        ("{}" * 76 + "a", 2),  # 305
        ("{}" * 76 + "ab", 2),  # 306
        ("{}" * 76 + "abc", 3),  # 307
    ],
)
def test_characters_of_the_extension_table_count_double(text, expected):
    assert is_gsm7(text)
    assert segments(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 68 + "🙂", 1),  # 70 UTF-16 units: an emoji takes two
        ("a" * 69 + "🙂", 2),  # 71
        ("a" * 132 + "🙂", 2),  # 134 = 2 × 67
        ("a" * 133 + "🙂", 3),  # 135
    ],
)
def test_one_emoji_switches_the_whole_text_to_ucs2_70_alone_and_67_per_part(text, expected):
    assert not is_gsm7(text)
    assert segments(text) == expected


@pytest.mark.parametrize("character", ["’", "“", "ç", "—", "ğ"])
def test_a_character_outside_the_gsm_alphabet_switches_to_ucs2(character):
    text = "a" * 69 + character

    assert not is_gsm7(text)
    assert segments(text) == 1
    assert segments(text + "a") == 2
