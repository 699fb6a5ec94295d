"""The ePrescription rules in one place: who prescribes what, validity, expiry, renewal windows.

Constants and small functions of their arguments (only `renewal_refusal_reason` may read the request history
when the row does not carry it), so a rule that changes changes here only.
Sources: DOMAIN.md "ePrescriptions"; kanta-reference.md 3.1 (who prescribes), 3.3 (validity and the grace
month), 1.4 and 3.6 (renewal requests).

Decisions taken here *(chosen)*:

- Months are calendar months: a 2-year prescription written on 29.2.2024 is valid until 28.2.2026, and a
  date that does not exist in the target month falls on that month's last day.
- Expiry: the daily job marks a prescription expired the day after its last dispensable day. For a 2-year
  prescription with medicine left that is the end of the grace month (the pharmacy may still dispense one
  month's supply within one calendar month after `valid_until`); for every other prescription it is the day
  after `valid_until`. A fully dispensed 2-year prescription has nothing left, so it expires at once.
- Renewal: renewable for 28 months from prescribing (2-year prescriptions) or 16 months (1-year ones), only
  when dispensed at least once, never when invalidated, never again after a rejection, not while a request
  is open, and not once it has been renewed (the new prescription is the one to renew).
"""

from __future__ import annotations

import calendar
import csv
import datetime
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from kanta.models import LegalBasis, Person, Profession
from prescriptions.models import Prescription, PrescriptionStatus, RenewalRequest, RenewalStatus

# -- who prescribes -------------------------------------------------------------------------------------

# Full prescribing right.
PRESCRIBING_PROFESSIONS = frozenset({Profession.PHYSICIAN, Profession.DENTIST})
# The limited prescribing right: only the ATC codes of the nurse list, never special-permit products.
LIMITED_PRESCRIBING_PROFESSIONS = frozenset({Profession.NURSE, Profession.PUBLIC_HEALTH_NURSE})

NURSE_ATC_FILE = Path(__file__).resolve().parent / "data" / "nurse_atc.csv"

ATC_CODE = re.compile(r"^[A-Z]\d{2}[A-Z]{2}\d{2}$")


@dataclass(frozen=True)
class NurseListEntry:
    atc_prefix: str
    name: str
    condition: str
    use: str  # "start" or "continue"


@cache
def nurse_list() -> tuple[NurseListEntry, ...]:
    """The nurse list shipped as data (prescriptions/data/nurse_atc.csv); lines starting with # are notes."""
    with NURSE_ATC_FILE.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if line.strip() and not line.startswith("#"))
        return tuple(
            NurseListEntry(
                atc_prefix=row["atc_prefix"].strip().upper(),
                name=row["name"].strip(),
                condition=row["condition"].strip(),
                use=row["use"].strip(),
            )
            for row in rows
        )


def nurse_list_entry(atc: str) -> NurseListEntry | None:
    """The entry of the nurse list that covers this ATC code (the longest matching prefix), if any."""
    code = (atc or "").strip().upper()
    matches = [entry for entry in nurse_list() if code and code.startswith(entry.atc_prefix)]
    return max(matches, key=lambda entry: len(entry.atc_prefix), default=None)


def may_prescribe(profession: str, *, atc: str, special_permit: bool) -> bool:
    """Whether this profession may sign a prescription of this medicine (kanta-reference.md 3.1)."""
    if profession in PRESCRIBING_PROFESSIONS:
        return True
    if profession in LIMITED_PRESCRIBING_PROFESSIONS:
        return not special_permit and nurse_list_entry(atc) is not None
    return False  # medical students never sign; pharmacists and everyone else do not prescribe


def prescribing_refusal(profession: str, *, atc: str, special_permit: bool) -> str | None:
    """Why this profession may not sign a prescription of this medicine, or None when it may."""
    if may_prescribe(profession, atc=atc, special_permit=special_permit):
        return None
    if profession == Profession.MEDICAL_STUDENT:
        return _("Medical students do not sign prescriptions: ask a licensed physician to sign it.")
    if profession in LIMITED_PRESCRIBING_PROFESSIONS:
        if special_permit:
            return _("The limited prescribing right does not cover special-permit products.")
        return _(
            "The limited prescribing right does not cover %(atc)s: only the medicines of the nurse list can be "
            "prescribed. Ask a physician."
        ) % {"atc": atc or "?"}
    return _("Your profession has no right to prescribe medicines.")


# -- months ---------------------------------------------------------------------------------------------


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` calendar months later (or earlier); the month's last day when it has no such day."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# -- validity -------------------------------------------------------------------------------------------

VALIDITY_MONTHS = 24  # 2 years from prescribing or renewal
SHORT_VALIDITY_MONTHS = 12  # narcotics, CNS-acting (PKV) and special-permit products
GRACE_MONTHS = 1  # one month's supply within a month after a 2-year prescription expired


def has_short_validity(*, narcotic: bool, pkv: bool, special_permit: bool) -> bool:
    return bool(narcotic or pkv or special_permit)


def maximum_valid_until(prescribed_on: datetime.date, *, short_validity: bool) -> datetime.date:
    """The last day a prescription written on `prescribed_on` may be valid; the prescriber may shorten it."""
    return add_months(prescribed_on, SHORT_VALIDITY_MONTHS if short_validity else VALIDITY_MONTHS)


def valid_until_refusal(
    valid_until: datetime.date, *, prescribed_on: datetime.date, short_validity: bool, today: datetime.date
) -> str | None:
    """Why this end of validity cannot be chosen, or None when it can."""
    maximum = maximum_valid_until(prescribed_on, short_validity=short_validity)
    if valid_until > maximum:
        if short_validity:
            return _(
                "Narcotics, CNS-acting (PKV) medicines and special-permit products are valid at most one year: "
                "until %(date)s at the latest."
            ) % {"date": date_format(maximum, "SHORT_DATE_FORMAT")}
        return _("A prescription is valid at most two years: until %(date)s at the latest.") % {
            "date": date_format(maximum, "SHORT_DATE_FORMAT")
        }
    if valid_until < today:
        return _("The end of validity cannot be in the past.")
    return None


def grace_period_ends(valid_until: datetime.date) -> datetime.date:
    """The last day of the grace month after a 2-year prescription's `valid_until`."""
    return add_months(valid_until, GRACE_MONTHS)


def grace_cutoff(today: datetime.date) -> datetime.date:
    """The earliest `valid_until` whose grace month still covers `today`.

    A 2-year prescription with medicine left whose `valid_until` is before this day is past its grace month.
    `grace_period_ends` never decreases as `valid_until` grows, so one cutoff date answers for all of them and
    the daily job can compare in SQL.
    """
    day = add_months(today, -GRACE_MONTHS) - datetime.timedelta(days=3)
    while grace_period_ends(day) < today:
        day += datetime.timedelta(days=1)
    return day


def last_dispensable_day(
    *, valid_until: datetime.date, short_validity: bool, medicine_left: bool
) -> datetime.date:
    """The last day a pharmacy may dispense anything on the prescription (the grace rule included)."""
    if not short_validity and medicine_left:
        return grace_period_ends(valid_until)
    return valid_until


EXPIRING_SOON_MONTHS = 2  # the citizen's list marks these red


def expiring_soon(valid_until: datetime.date, today: datetime.date) -> bool:
    return today <= valid_until <= add_months(today, EXPIRING_SOON_MONTHS)


# -- renewal requests -----------------------------------------------------------------------------------

RENEWAL_WINDOW_MONTHS = 28  # for 2-year prescriptions, counted from prescribing
SHORT_RENEWAL_WINDOW_MONTHS = 16  # for 1-year prescriptions
RENEWAL_REQUEST_DAYS = 8  # an unhandled request expires after this
GUARDIAN_RENEWAL_AGE = 10  # a guardian sends requests for a child under this age


def renewable_until(prescribed_on: datetime.date, *, short_validity: bool) -> datetime.date:
    return add_months(prescribed_on, SHORT_RENEWAL_WINDOW_MONTHS if short_validity else RENEWAL_WINDOW_MONTHS)


def renewal_request_expires_at(sent_at: datetime.datetime) -> datetime.datetime:
    return sent_at + datetime.timedelta(days=RENEWAL_REQUEST_DAYS)


def renewal_refusal_reason(prescription: Prescription, today: datetime.date | None = None) -> str | None:
    """Why the citizen cannot ask for this prescription to be renewed, or None when they can.

    The page that lists prescriptions and the service that sends requests both ask this, so the citizen
    reads the same reason in both. The request history is read from the annotations that
    `selectors.with_renewal_state` adds (no query per row on a list page); without them it is queried here.
    """
    today = today or timezone.localdate()
    if prescription.status == PrescriptionStatus.INVALIDATED:
        return _("This prescription has been invalidated, so it cannot be renewed. Contact your care unit.")

    renewed = getattr(prescription, "renewal_done", None)
    rejected = getattr(prescription, "renewal_rejected", None)
    open_request = getattr(prescription, "renewal_open", None)
    if renewed is None or rejected is None or open_request is None:
        statuses = set(
            RenewalRequest.objects.filter(prescription_id=prescription.pk).values_list("status", flat=True)
        )
        renewed = RenewalStatus.RENEWED in statuses or prescription.renewals.exists()
        rejected = RenewalStatus.REJECTED in statuses
        open_request = RenewalStatus.SENT in statuses

    if renewed:
        return _("This prescription has already been renewed: ask for the new prescription to be renewed.")
    if rejected:
        return _(
            "A renewal request for this prescription was rejected, so it cannot be requested again. Contact "
            "your care unit."
        )
    if open_request:
        return _("A renewal request for this prescription is already waiting to be handled.")
    if not prescription.quantity_dispensed or prescription.quantity_dispensed <= 0:
        return _(
            "Only a prescription that has been dispensed at least once can be renewed. This one has not been "
            "dispensed yet."
        )
    short = has_short_validity(
        narcotic=prescription.narcotic, pkv=prescription.pkv, special_permit=prescription.special_permit
    )
    prescribed_on = timezone.localdate(prescription.prescribed_at)
    if today > renewable_until(prescribed_on, short_validity=short):
        months = SHORT_RENEWAL_WINDOW_MONTHS if short else RENEWAL_WINDOW_MONTHS
        return _(
            "A renewal can be requested for %(months)s months from prescribing; this prescription was written "
            "on %(date)s. Contact your care unit for a new prescription."
        ) % {"months": months, "date": date_format(prescribed_on, "SHORT_DATE_FORMAT")}
    return None


def on_behalf_refusal(
    *, person: Person, acting_person: Person, on_behalf_basis: str, today: datetime.date
) -> str | None:
    """Why `acting_person` may not send renewal requests for `person`, or None when they may.

    The caller passes the basis on which the acting person acts (consents.policy.acting_basis decides it;
    domain apps never import consents). A guardian acts for a child under 10; a mandate holder within a
    health-care mandate.
    """
    if acting_person.pk == person.pk:
        return None
    if on_behalf_basis == LegalBasis.GUARDIAN:
        if person.age_on(today) < GUARDIAN_RENEWAL_AGE:
            return None
        return _(
            "A guardian can ask for renewals only for a child under %(age)s. From that age the child sends "
            "the request themself or contacts the care unit."
        ) % {"age": GUARDIAN_RENEWAL_AGE}
    if on_behalf_basis == LegalBasis.MANDATE:
        return None
    return _("You cannot send renewal requests on behalf of this person.")


# Finnish mobile numbers: 04x and 050 prefixes, 4-8 digits after the prefix.
_MOBILE = re.compile(r"^\+358(4\d|50)\d{4,8}$")


def normalise_phone(phone: str) -> str:
    """A Finnish mobile number in international form (+358401234567), or "" when none is given.

    Accepts the usual ways of writing one: "+358 40 1234567", "040 1234567", "040-123 4567", "00358...".
    Raises ValueError with a translated message when the number is not a Finnish mobile number.
    """
    compact = re.sub(r"[\s\-().]", "", phone or "")
    if not compact:
        return ""
    if compact.startswith("00358"):
        compact = "+358" + compact[5:]
    elif compact.startswith("0"):
        compact = "+358" + compact[1:]
    elif compact.startswith("358"):
        compact = "+" + compact
    if not _MOBILE.match(compact):
        raise ValueError(
            _("Give a Finnish mobile number, for example 040 1234567 or +358 40 1234567, or leave it empty.")
        )
    return compact
