"""The Finnish personal identity code (henkilötunnus), validated by python-stdnum.

stdnum knows the format, the 2023 century signs, the date and the mod-31 check character; this module turns
its exceptions into messages that say which part of the code is wrong, and derives birth date and sex.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.fi import hetu

CENTURY_BY_SIGN = {"+": 1800}
CENTURY_BY_SIGN.update(dict.fromkeys("-YXWVU", 1900))
CENTURY_BY_SIGN.update(dict.fromkeys("ABCDEF", 2000))
CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
TEMPORARY_RANGE = range(900, 1000)


@dataclass(frozen=True)
class IdentityCode:
    code: str
    birth_date: datetime.date
    individual_number: int

    @property
    def sex(self) -> str:
        return "male" if self.individual_number % 2 else "female"

    @property
    def is_temporary(self) -> bool:
        return self.individual_number in TEMPORARY_RANGE


def check_character(digits: str) -> str:
    """The check character for the nine digits DDMMYYNNN."""
    return CHECK_CHARACTERS[int(digits) % 31]


def build(birth_date: datetime.date, individual_number: int, sign: str) -> str:
    """A valid code for the given parts (used by demo data and the synthetic generator)."""
    digits = f"{birth_date:%d%m%y}{individual_number:03d}"
    return f"{digits[:6]}{sign}{digits[6:]}{check_character(digits)}"


def parse(value: str) -> IdentityCode:
    """Validate a code and return its parts, or raise ValidationError naming the faulty part."""
    code = hetu.compact(value or "")
    try:
        hetu.validate(code, allow_temporary=True)
    except stdnum_errors.InvalidLength:
        raise ValidationError(
            _("An identity code has 11 characters, for example 131052-308T."), code="length"
        ) from None
    except stdnum_errors.InvalidFormat:
        if len(code) != 11:
            raise ValidationError(
                _("An identity code has 11 characters, for example 131052-308T."), code="length"
            ) from None
        if code[6] not in CENTURY_BY_SIGN:
            raise ValidationError(
                _(
                    "“%(sign)s” is not a century sign. Use + (1800s), -, Y, X, W, V or U (1900s), A to F (2000s)."
                ),
                code="sign",
                params={"sign": code[6]},
            ) from None
        raise ValidationError(
            _(
                "The identity code is not of the form DDMMYY, century sign, three digits and a check character."
            ),
            code="format",
        ) from None
    except stdnum_errors.InvalidComponent:
        if _birth_date(code) is None:
            raise ValidationError(
                _("The first six digits of the identity code are not a valid date of birth."), code="date"
            ) from None
        raise ValidationError(
            _("The individual number (digits 8 to 10) must be between 002 and 999."), code="individual"
        ) from None
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(
            _(
                "The check character is wrong: it should be “%(expected)s”. Check the code for a typing error."
            ),
            code="checksum",
            params={"expected": check_character(code[:6] + code[7:10])},
        ) from None
    birth_date = _birth_date(code)
    if birth_date is None:  # pragma: no cover - stdnum has validated the date
        raise ValidationError(_("The first six digits of the identity code are not a valid date of birth."))
    return IdentityCode(code=code, birth_date=birth_date, individual_number=int(code[7:10]))


def validate_identity_code(value: str) -> None:
    """Model and form field validator."""
    parse(value)


def _birth_date(code: str) -> datetime.date | None:
    try:
        return datetime.date(CENTURY_BY_SIGN[code[6]] + int(code[4:6]), int(code[2:4]), int(code[0:2]))
    except (KeyError, ValueError):
        return None
