"""The personal identity code: known codes, precise errors, and properties over generated codes."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from kanta import identity_code
from kanta.identity_code import CENTURY_BY_SIGN, CHECK_CHARACTERS

KNOWN_VALID = ["131052-308T", "010594Y9032", "020594X903P", "010516B903X", "020503F9037", "020504B904H"]


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_known_valid_codes_validate(code):
    assert identity_code.parse(code).code == code


def test_birth_date_and_sex_are_derived():
    parsed = identity_code.parse("131052-308T")
    assert parsed.birth_date == datetime.date(1952, 10, 13)
    assert parsed.sex == "female"
    assert identity_code.parse("010516B903X").birth_date == datetime.date(2016, 5, 1)
    assert identity_code.parse("010516B903X").sex == "male"


@pytest.mark.parametrize(
    ("code", "error_code"),
    [
        ("131052-308", "length"),
        ("131052Z308T", "sign"),
        ("310252-308Y", "date"),
        ("131052-308U", "checksum"),
        ("131052-001T", "individual"),
        ("1310X2-308T", "format"),
    ],
)
def test_wrong_codes_say_which_part_is_wrong(code, error_code):
    with pytest.raises(ValidationError) as caught:
        identity_code.parse(code)
    assert caught.value.code == error_code


def test_checksum_error_names_the_expected_character():
    with pytest.raises(ValidationError) as caught:
        identity_code.parse("131052-308U")
    assert "T" in caught.value.messages[0]


signs = st.sampled_from(sorted(CENTURY_BY_SIGN))


@st.composite
def valid_codes(draw):
    sign = draw(signs)
    century = CENTURY_BY_SIGN[sign]
    birth_date = draw(st.dates(datetime.date(century, 1, 1), datetime.date(century + 99, 12, 31)))
    return identity_code.build(birth_date, draw(st.integers(2, 999)), sign)


@given(valid_codes())
def test_every_generated_valid_code_validates(code):
    assert identity_code.parse(code).code == code


@given(valid_codes(), st.integers(0, 8), st.integers(1, 9))
def test_changing_one_digit_is_rejected(code, digit_index, delta):
    positions = [0, 1, 2, 3, 4, 5, 7, 8, 9]  # the nine digits, skipping the century sign
    position = positions[digit_index]
    changed_digit = str((int(code[position]) + delta) % 10)
    changed = code[:position] + changed_digit + code[position + 1 :]
    with pytest.raises(ValidationError):
        identity_code.parse(changed)


@given(valid_codes(), st.sampled_from(CHECK_CHARACTERS))
def test_changing_the_check_character_is_rejected(code, other):
    if other == code[-1]:
        return
    with pytest.raises(ValidationError):
        identity_code.parse(code[:-1] + other)


@given(valid_codes(), st.data())
def test_same_digits_with_another_sign_of_the_century_is_another_valid_code(code, data):
    century = CENTURY_BY_SIGN[code[6]]
    siblings = sorted(s for s, c in CENTURY_BY_SIGN.items() if c == century and s != code[6])
    if not siblings:  # the 1800s have only "+"
        return
    other = code[:6] + data.draw(st.sampled_from(siblings)) + code[7:]
    assert identity_code.parse(other).code == other
    assert other != code


@pytest.mark.django_db
def test_same_digits_with_another_sign_are_two_people():
    from tests.factories import PersonFactory

    first = PersonFactory(identity_code="010594Y9032")
    second = PersonFactory(identity_code="010594X9032")
    assert first.pk != second.pk
    assert second.birth_date == first.birth_date
