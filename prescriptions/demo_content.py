"""Demo content of the Prescription service, for `manage.py demo_data`.

Loaded after the archive's demo content and before that of consents (autodiscovery, in INSTALLED_APPS order).
Three parts, each idempotent:

1. The medicine database: the sample file (prescriptions/data/medicines.csv) is imported through
   prescriptions.medicine_db when the database has no packages, or when the sample file has changed since it
   was last imported. The import row's file name carries the file's SHA-256, so a second run recognises an
   import of the same bytes and writes no import row and no audit event. A database where another file was
   imported after the sample (a real medicine database) is left alone.
2. The health centres that accept renewal requests (Hervanta, where the demo doctor works, and Runosmäki).
3. Prescriptions of the adult demo persons, written as the demo physicians, dentist and nurse through
   prescriptions.services, dispensed by the demo pharmacists through prescriptions.dispensing, and renewal
   requests sent by the persons themselves in MyKanta, so the rules (prescribing rights, the nurse list,
   validity, purchase limits, substitution, renewal windows) and the audit log apply as they do at work.
   Where a prescriber's unit has no active care relationship with the person, the prescriber confirms one
   first (kanta.services), as the pages make them do.

Up to three years of history: the services stamp a prescription with the time it is written, so after
writing one the loader moves its `prescribed_at` (and with it the `valid_until` the rules give, and the time of
its "prescribed" history event) back to the day the story says. The same is done for a renewal request's
sent and handled times and for a cross-border consent's time. The content and the audit events are as the
services wrote them; only the clock is played back. Dispensings take their time from the service's `now`
argument, so they are checked against the backdated validity as a pharmacy would have been. After the
histories are written the nightly expiry job runs once, which marks the prescriptions that ran out long ago
expired.

Idempotent by person: a person who already has any prescription is left as they are, before anything is
written for them, so a second run writes no row and no audit event. Each person's history is written in one
transaction. One exception keeps the demo usable over time: when the demo doctor's renewal queue has become
empty (the request was handled, or left for more than 8 days), a rerun sends a new request from a demo person,
as rerunning the core demo renews an expired care relationship.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from kanta import audit, demo
from kanta.access import active_care_relationship
from kanta.auth import CitizenBackend
from kanta.errors import RuleViolation
from kanta.models import CareReason, Person, Professional, Unit, User
from kanta.services import care_relationship_confirm
from prescriptions import dispensing, medicine_db, rules, selectors, services
from prescriptions.models import (
    AmountKind,
    CrossBorderConsent,
    CrossBorderCountry,
    EventKind,
    Prescription,
    PrescriptionEvent,
    PrescriptionSummary,
    Product,
    ProductImport,
    RenewalRequest,
)

SAMPLE_FILE = Path(medicine_db.__file__).resolve().parent / "data" / "medicines.csv"
# The import row of the sample is named "<file> sha256:<hex digest of its bytes>".
SAMPLE_HASH_MARK = " sha256:"

# The units that accept renewal requests: the demo doctor's health centre and the Turku one.
RENEWAL_UNITS = ("hervanta-hc", "runosmaki-hc")
# The unit whose renewal queue the demo keeps filled, and whose requests may come from these persons.
QUEUE_UNIT = "hervanta-hc"
QUEUE_PERSONS = ("aino", "juhani", "matti", "pekka")
# Kalle Heinonen denies the disclosure of his oxazepam prescription (consents/demo_content.py).
DENIED_PRESCRIPTION_PERSON = "kalle"
DENIED_PRESCRIPTION_ATC = "N05BA04"
# Who dispenses at which demo pharmacy.
PHARMACISTS = {"ahomansikka": "pharmacist", "kissankello": "dispenser"}

# Packages of the sample medicine database (VNR), named so that the stories read as a prescription does.
METFORMIN_500_200 = "591380"
ATORVASTATIN_20_100 = "531340"
ATORVIN_20_100 = "591516"  # the same substitution group as ATORVASTATIN_20_100
AMLODIPINE_5_100 = "375881"
LEVOTHYROXINE_50_100 = "330084"
RAMIPRIL_5_100 = "492804"
KARDIOPRIL_5_100 = "237720"  # the same substitution group as RAMIPRIL_5_100
CHLORHEXIDINE_300ML = "432863"
SUMATRIPTAN_50_6 = "306846"
FERROUS_SULFATE_100 = "335050"
METOPROLOL_47_5_30 = "443924"
DONEPEZIL_10_98 = "461852"
ESCITALOPRAM_10_98 = "489335"
DESOGESTREL_75_84 = "173534"
LEVORA_63 = "157505"
PIVMECILLINAM_200_10 = "308844"
DOXYCYCLINE_100_20 = "512575"
PENICILLIN_V_1MIU_30 = "579536"
MOMETASONE_NASAL_140 = "217874"
CETIRIZINE_10_30 = "369063"
CODEINE_PARACETAMOL_30 = "131501"  # narcotic
OXAZEPAM_15_100 = "521826"  # CNS-acting (PKV)
IBUPROFEN_400_30 = "220965"
TAMSULOSIN_04_100 = "267538"

USED_PACKAGES = frozenset(
    {
        METFORMIN_500_200,
        ATORVASTATIN_20_100,
        ATORVIN_20_100,
        AMLODIPINE_5_100,
        LEVOTHYROXINE_50_100,
        RAMIPRIL_5_100,
        KARDIOPRIL_5_100,
        CHLORHEXIDINE_300ML,
        SUMATRIPTAN_50_6,
        FERROUS_SULFATE_100,
        METOPROLOL_47_5_30,
        DONEPEZIL_10_98,
        ESCITALOPRAM_10_98,
        DESOGESTREL_75_84,
        LEVORA_63,
        PIVMECILLINAM_200_10,
        DOXYCYCLINE_100_20,
        PENICILLIN_V_1MIU_30,
        MOMETASONE_NASAL_140,
        CETIRIZINE_10_30,
        CODEINE_PARACETAMOL_30,
        OXAZEPAM_15_100,
        IBUPROFEN_400_30,
        TAMSULOSIN_04_100,
    }
)


# -- the medicine database -----------------------------------------------------------------------------------


def sample_import_name(path: Path = SAMPLE_FILE) -> str:
    """The import row's file name for the sample as it is now: its name and the SHA-256 of its bytes."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return f"{path.name}{SAMPLE_HASH_MARK}{digest}"


def _import_sample(stdout) -> None:
    """Import the sample when the database is empty or the sample changed since it was last imported."""
    name = sample_import_name(SAMPLE_FILE)
    latest = ProductImport.objects.order_by("-started_at", "-pk").first()
    if Product.objects.exists():
        if latest is None or not latest.file_name.startswith(SAMPLE_FILE.name + SAMPLE_HASH_MARK):
            stdout.write("Medicine database: another file was imported; the sample was left out.")
            return
        if latest.file_name == name:
            stdout.write("Medicine database: the sample is imported and unchanged; nothing written.")
            return
    try:
        result = medicine_db.import_products(path=SAMPLE_FILE, file_name=name)
    except RuleViolation as refusal:
        stdout.write(f"Medicine database: the sample was not imported: {refusal}")
        return
    stdout.write(
        f"Medicine database: {SAMPLE_FILE.name} imported ({result.created} new, {result.updated} updated, "
        f"{result.rejected} rejected rows)."
    )


# -- units ---------------------------------------------------------------------------------------------------


def _accept_renewal_requests(units: dict[str, Unit]) -> None:
    """Make the demo health centres accept renewal requests; a unit that already does is not written."""
    Unit.objects.filter(
        pk__in=[units[key].pk for key in RENEWAL_UNITS], accepts_renewal_requests=False
    ).update(accepts_renewal_requests=True)
    for key in RENEWAL_UNITS:
        units[key].accepts_renewal_requests = True  # the services below read these objects


# -- the demo rows -------------------------------------------------------------------------------------------


class _Demo:
    """The core demo's rows by their demo keys, the sample's packages by VNR, and today's date."""

    def __init__(self) -> None:
        self.today = timezone.localdate()
        unit_keys = {unit.oid: unit.key for org in demo.ORGANISATIONS for unit in org.units}
        self.units = {
            unit_keys[unit.oid]: unit
            for unit in Unit.objects.select_related("organisation").filter(oid__in=unit_keys)
        }
        self.professionals = {
            professional.user.username: professional
            for professional in Professional.objects.select_related("user").filter(
                user__username__in=[p.username for p in demo.PROFESSIONALS]
            )
        }
        codes = {p.identity_code: p.key for p in demo.PERSONS}
        self.persons = {
            codes[p.identity_code]: p
            for p in Person.objects.select_related("user").filter(identity_code__in=codes)
        }
        self.products = {
            product.vnr: product for product in Product.objects.filter(vnr__in=USED_PACKAGES, marketed=True)
        }

    def actor(self, username: str, unit: str) -> audit.Actor:
        professional = self.professionals[username]
        return audit.Actor(user=professional.user, professional=professional, unit=self.units[unit])

    def day(self, days_ago: int) -> datetime.date:
        return self.today - datetime.timedelta(days=days_ago)

    def moment(self, days_ago: int, hour: int) -> datetime.datetime:
        minute = (days_ago * 13 + hour * 7) % 60
        return timezone.make_aware(datetime.datetime.combine(self.day(days_ago), datetime.time(hour, minute)))


def _citizen_user(person: Person) -> User:
    """The person's MyKanta user, created as a first identification creates it."""
    if person.user is not None:
        return person.user
    user = CitizenBackend().authenticate(None, identified_identity_code=person.identity_code)
    person.refresh_from_db(fields=["user"])
    return user


class _Medicines:
    """One person's prescriptions, written and dispensed `days_ago` days before today."""

    def __init__(self, site: _Demo, person: Person, pharmacy: str) -> None:
        self.site = site
        self.person = person
        self.pharmacy = pharmacy  # the unit key of the pharmacy the person usually uses
        self.prescriptions = 0
        self.dispensings = 0

    def clinician(self, username: str, unit: str, reason: str = CareReason.ONGOING) -> audit.Actor:
        """The professional in the unit, with the unit's care relationship confirmed if it has none."""
        actor = self.site.actor(username, unit)
        if active_care_relationship(person=self.person, unit=actor.unit) is None:
            care_relationship_confirm(actor=actor, person=self.person, reason=reason)
        return actor

    def citizen(self) -> audit.Actor:
        return audit.Actor(user=_citizen_user(self.person))

    def prescribe(
        self,
        actor: audit.Actor,
        days_ago: int,
        package: str | None = None,
        *,
        hour: int = 10,
        **fields,
    ) -> Prescription:
        """Prescribe a package of the sample (or, without one, the active substance in `fields`)."""
        product = self.site.products[package] if package else None
        prescription = services.prescribe(actor=actor, person=self.person, product=product, **fields)
        self.prescriptions += 1
        return self.backdate(prescription, days_ago, hour=hour)

    def backdate(self, prescription: Prescription, days_ago: int, *, hour: int = 10) -> Prescription:
        """Move prescribing to the story's day, with the validity the rules give from that day (see the
        module docstring: the clock is played back). Called before anything else happens to the row."""
        when = self.site.moment(days_ago, hour)
        valid_until = rules.maximum_valid_until(
            timezone.localdate(when), short_validity=not prescription.two_year_validity
        )
        Prescription.objects.filter(pk=prescription.pk).update(prescribed_at=when, valid_until=valid_until)
        prescription.prescribed_at, prescription.valid_until = when, valid_until
        PrescriptionEvent.objects.filter(prescription=prescription, kind=EventKind.PRESCRIBED).update(
            occurred_at=when, snapshot=services.prescription_snapshot(prescription)
        )
        return prescription

    def dispense(
        self,
        prescription: Prescription,
        days_ago: int,
        packages: int = 1,
        *,
        package: str | None = None,
    ) -> None:
        """Dispense at the person's pharmacy: the prescribed package unless another one is named."""
        unit = self.pharmacy
        product = self.site.products[package] if package else prescription.product
        dispensing.dispense(
            actor=self.site.actor(PHARMACISTS[unit], unit),
            prescription=prescription,
            product=product,
            packages=packages,
            now=self.site.moment(days_ago, 16),
        )
        self.dispensings += 1

    def request_renewal(self, prescription: Prescription, unit: str) -> RenewalRequest:
        """The person asks the unit in MyKanta to renew the prescription."""
        [request] = services.renewal_request_send(
            actor=self.citizen(),
            person=self.person,
            acting_person=self.person,
            prescriptions=[prescription],
            unit=self.site.units[unit],
        )
        return request

    def backdate_request(self, request: RenewalRequest, *, sent_days_ago: int, handled_days_ago: int) -> None:
        sent = self.site.moment(sent_days_ago, 19)
        handled = self.site.moment(handled_days_ago, 9)
        RenewalRequest.objects.filter(pk=request.pk).update(sent_at=sent, handled_at=handled)
        PrescriptionEvent.objects.filter(prescription=request.prescription, kind=EventKind.RENEWED).update(
            occurred_at=handled
        )


# -- the stories ---------------------------------------------------------------------------------------------
# One function per person, following what the archive's demo records say was started. Dosage texts in
# Finnish, in Swedish for the Swedish-speaking persons. Days count back from today.


def _matti(c: _Medicines) -> None:
    """Type 2 diabetes since 980 days: every state a prescription can be in, and a summary."""
    doctor = c.clinician("doctor", "hervanta-hc")
    diabetes = {"purpose": "Diabetekseen", "amount_kind": AmountKind.TREATMENT_PERIOD}
    first = c.prescribe(
        doctor,
        980,
        METFORMIN_500_200,
        dosage="1 tabletti 2 kertaa päivässä aterian yhteydessä, 2 viikon kuluttua 2 tablettia 2 kertaa päivässä",
        daily_quantity=4,
        amount_treatment_days=365,
        **diabetes,
    )
    for days_ago in (978, 880, 780):
        c.dispense(first, days_ago, 2)  # 260 tablets were never collected: it expires with medicine left
    metformin = c.prescribe(
        doctor,
        535,
        active_substance="metformin",
        strength="500 mg",
        form="film-coated tablet",
        atc="A10BA02",
        dosage="2 tablettia 2 kertaa päivässä aterian yhteydessä",
        daily_quantity=4,
        amount_treatment_days=730,
        **diabetes,
    )
    for days_ago in (530, 400, 250, 90):
        c.dispense(metformin, days_ago, 2, package=METFORMIN_500_200)
    statin = c.prescribe(
        doctor,
        700,
        ATORVASTATIN_20_100,
        dosage="1 tabletti illalla",
        daily_quantity=1,
        amount_kind=AmountKind.TREATMENT_PERIOD,
        amount_treatment_days=730,
        purpose="Kolesterolin alentamiseen",
    )
    c.dispense(statin, 698)
    c.dispense(statin, 560, package=ATORVIN_20_100)  # generic substitution within the group
    c.dispense(statin, 420)
    c.dispense(statin, 280)
    request = c.request_renewal(statin, "hervanta-hc")
    renewed = services.renewal_renew(actor=doctor, request=request)
    c.backdate(renewed, 61, hour=9)
    c.backdate_request(request, sent_days_ago=62, handled_days_ago=61)
    c.prescriptions += 1
    c.dispense(renewed, 58)
    c.prescribe(
        doctor,
        65,
        AMLODIPINE_5_100,
        dosage="1 tabletti aamulla",
        daily_quantity=1,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=4,
        purpose="Verenpaineen alentamiseen",
    )
    # The summary he printed in MyKanta: a pharmacy scanning its barcode sees exactly these.
    dispensing.summary_create(
        actor=c.citizen(),
        person=c.person,
        prescriptions=Prescription.objects.filter(
            person=c.person, status__in=services.VALID_STATUSES, valid_until__gte=c.site.today
        ),
    )


def _aino(c: _Medicines) -> None:
    """Levothyroxine collected to the last package; her renewal request waits in the doctor's queue."""
    doctor = c.clinician("doctor", "hervanta-hc")
    thyroxine = c.prescribe(
        doctor,
        518,
        LEVOTHYROXINE_50_100,
        dosage="1 tabletti aamulla tyhjään mahaan",
        daily_quantity=1,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=5,
        purpose="Kilpirauhasen vajaatoimintaan",
    )
    for days_ago in (515, 420, 320, 220, 120):
        c.dispense(thyroxine, days_ago)
    c.request_renewal(thyroxine, "hervanta-hc")


def _juhani(c: _Medicines) -> None:
    dentist = c.clinician("dentist", "hervanta-dental", CareReason.APPOINTMENT)
    mouthwash = c.prescribe(
        dentist,
        500,
        CHLORHEXIDINE_300ML,
        dosage="Huuhtele suu 10 ml:lla 2 kertaa päivässä 2 viikon ajan hampaiden pesun jälkeen",
        daily_quantity=20,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=1,
        purpose="Ientulehdukseen",
    )
    c.dispense(mouthwash, 500)
    doctor = c.clinician("doctor", "hervanta-hc")
    ramipril = c.prescribe(
        doctor,
        300,
        RAMIPRIL_5_100,
        dosage="1 tabletti aamulla",
        daily_quantity=1,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=4,
        purpose="Verenpaineen alentamiseen",
    )
    c.dispense(ramipril, 299)
    c.dispense(ramipril, 200, package=KARDIOPRIL_5_100)
    c.dispense(ramipril, 100)


def _anna(c: _Medicines) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    iron = c.prescribe(
        doctor,
        958,
        FERROUS_SULFATE_100,
        dosage="1 tablett dagligen på fastande mage i tre månader",
        daily_quantity=1,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=1,
        purpose="Mot järnbrist",
    )
    c.dispense(iron, 957)
    triptan = c.prescribe(
        doctor,
        240,
        SUMATRIPTAN_50_6,
        dosage="1 tablett vid migränanfall, vid behov en till efter 2 timmar, högst 2 tabletter per dygn",
        daily_quantity=2,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=5,
        purpose="Mot migrän",
    )
    c.dispense(triptan, 239, 2)
    c.dispense(triptan, 110)


def _erik(c: _Medicines) -> None:
    doctor = c.clinician("doctor", "pirkanmaa-ward")
    beta_blocker = c.prescribe(
        doctor,
        470,
        METOPROLOL_47_5_30,
        dosage="1 tablett vid behov vid hjärtklappning, högst 1 tablett per dygn",
        daily_quantity=1,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=1,
        purpose="Mot hjärtklappning",
    )
    c.dispense(beta_blocker, 470)


def _elsa(c: _Medicines) -> None:
    """Donepezil written 20 months ago and collected: renewable (her daughter may ask by mandate)."""
    doctor = c.clinician("doctor", "hervanta-hc")
    donepezil = c.prescribe(
        doctor,
        610,
        DONEPEZIL_10_98,
        dosage="1 tabletti illalla",
        daily_quantity=1,
        amount_kind=AmountKind.TREATMENT_PERIOD,
        amount_treatment_days=730,
        purpose="Muistisairauteen",
    )
    amlodipine = c.prescribe(
        doctor,
        610,
        AMLODIPINE_5_100,
        dosage="1 tabletti aamulla",
        daily_quantity=1,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=7,
        purpose="Verenpaineen alentamiseen",
        hour=11,
    )
    for days_ago in (605, 410, 210, 15):
        c.dispense(donepezil, days_ago)
        c.dispense(amlodipine, days_ago)


def _sanna(c: _Medicines) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    escitalopram = c.prescribe(
        doctor,
        140,
        ESCITALOPRAM_10_98,
        dosage="½ tablettia kerran päivässä viikon ajan, sitten 1 tabletti kerran päivässä",
        daily_quantity=1,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=4,
        purpose="Ahdistuneisuuteen",
    )
    c.dispense(escitalopram, 139)
    c.dispense(escitalopram, 45)
    # The nurse's limited prescribing right covers continuing hormonal contraception (the nurse list).
    nurse = c.clinician("nurse", "hervanta-hc", CareReason.APPOINTMENT)
    mini_pill = c.prescribe(
        nurse,
        90,
        DESOGESTREL_75_84,
        dosage="1 tabletti päivittäin samaan aikaan ilman taukoja",
        daily_quantity=1,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=4,
        purpose="Raskauden ehkäisyyn",
    )
    c.dispense(mini_pill, 89)


def _pekka(c: _Medicines) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    tamsulosin = c.prescribe(
        doctor,
        125,
        TAMSULOSIN_04_100,
        dosage="1 kapseli aamiaisen jälkeen",
        daily_quantity=1,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=3,
        purpose="Virtsaamisvaivoihin",
    )
    c.dispense(tamsulosin, 124)
    c.dispense(tamsulosin, 25)


def _liisa(c: _Medicines) -> None:
    """A narcotic (1-year validity) whose renewal the doctor rejected: medicine is still left on it."""
    doctor = c.clinician("doctor", "hervanta-hc")
    codeine = c.prescribe(
        doctor,
        50,
        CODEINE_PARACETAMOL_30,
        dosage="1 tabletti tarvittaessa kovaan polvikipuun, enintään 3 tablettia vuorokaudessa",
        daily_quantity=3,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=2,
        purpose="Polven nivelrikon kipuun",
        message_to_pharmacy="Lyhytaikaiseen käyttöön; ensisijaisesti parasetamoli.",
    )
    c.dispense(codeine, 49)
    request = c.request_renewal(codeine, "hervanta-hc")
    services.renewal_reject(
        actor=doctor,
        request=request,
        reason="Reseptillä on vielä lääkettä jäljellä. Kodeiinin käyttöä ei lisätä ilman vastaanottokäyntiä: "
        "varaa aika terveysasemalle.",
    )
    c.backdate_request(request, sent_days_ago=12, handled_days_ago=11)


def _kalle(c: _Medicines) -> None:
    """A CNS-acting (PKV) medicine, valid 1 year, that Kalle then hides from pharmacies (consents demo)."""
    doctor = c.clinician("doctor", "hervanta-hc")
    c.prescribe(
        doctor,
        210,
        OXAZEPAM_15_100,
        dosage="½–1 tablettia tarvittaessa paniikkioireisiin, enintään 2 tablettia vuorokaudessa",
        daily_quantity=2,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=1,
        purpose="Paniikkioireisiin",
    )
    ibuprofen = c.prescribe(
        doctor,
        25,
        IBUPROFEN_400_30,
        dosage="1 tabletti 3 kertaa päivässä ruoan kanssa 1–2 viikon ajan",
        daily_quantity=3,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=1,
        purpose="Olkapään kipuun",
    )
    c.dispense(ibuprofen, 25)


def _ella(c: _Medicines) -> None:
    doctor = c.clinician("doctor-private", "sinivuokko-clinic", CareReason.APPOINTMENT)
    pill = c.prescribe(
        doctor,
        110,
        LEVORA_63,
        dosage="1 tabletti päivässä 21 päivän ajan, sitten 7 päivän tauko",
        daily_quantity=1,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=4,
        purpose="Raskauden ehkäisyyn",
    )
    c.dispense(pill, 108)
    c.dispense(pill, 25)


def _oliver(c: _Medicines) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    antibiotic = c.prescribe(
        doctor,
        150,
        DOXYCYCLINE_100_20,
        dosage="1 tabletti 2 kertaa päivässä 10 vuorokauden ajan runsaan nesteen kanssa",
        daily_quantity=2,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=1,
        purpose="Borrelioosin hoitoon",
    )
    c.dispense(antibiotic, 150)


def _johan(c: _Medicines) -> None:
    """Pollen allergy; one nasal spray bought in Tallinn with his consent to use prescriptions abroad."""
    doctor = c.clinician("doctor-turku", "runosmaki-hc")
    allergy = {"purpose": "Mot pollenallergi", "amount_kind": AmountKind.PACKAGES, "amount_packages": 3}
    spray = c.prescribe(
        doctor,
        220,
        MOMETASONE_NASAL_140,
        dosage="2 sprayningar i varje näsborre en gång dagligen under pollensäsongen",
        daily_quantity=4,
        **allergy,
    )
    antihistamine = c.prescribe(
        doctor,
        220,
        CETIRIZINE_10_30,
        dosage="1 tablett dagligen vid behov",
        daily_quantity=1,
        hour=11,
        **allergy,
    )
    c.dispense(spray, 219)
    c.dispense(antihistamine, 219)
    consent = dispensing.cross_border_consent_give(actor=c.citizen(), person=c.person, acting_person=c.person)
    CrossBorderConsent.objects.filter(pk=consent.pk).update(given_at=c.site.moment(75, 20))
    dispensing.record_cross_border_dispensing(
        country=CrossBorderCountry.ESTONIA,
        prescription=spray,
        product=c.site.products[MOMETASONE_NASAL_140],
        packages=1,
        dispensed_at=c.site.moment(60, 13),
    )
    c.dispensings += 1


def _gunnel(c: _Medicines) -> None:
    """Amlodipine that expires within two months; her renewal request waits at Runosmäki."""
    doctor = c.clinician("doctor-turku", "runosmaki-hc")
    amlodipine = c.prescribe(
        doctor,
        690,
        AMLODIPINE_5_100,
        dosage="1 tablett på morgonen",
        daily_quantity=1,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=7,
        purpose="Mot högt blodtryck",
    )
    for days_ago in (688, 540, 380, 220, 60):
        c.dispense(amlodipine, days_ago)
    c.request_renewal(amlodipine, "runosmaki-hc")


def _mikael(c: _Medicines) -> None:
    """Written after his ankle sprain and never collected: not renewable."""
    doctor = c.clinician("doctor-turku", "runosmaki-hc", CareReason.APPOINTMENT)
    c.prescribe(
        doctor,
        12,
        IBUPROFEN_400_30,
        dosage="1 tabletti tarvittaessa enintään 3 kertaa päivässä ruoan kanssa",
        daily_quantity=3,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=1,
        purpose="Nilkan nyrjähdyksen kipuun",
    )


def _elias(c: _Medicines) -> None:
    doctor = c.clinician("doctor-private", "sinivuokko-occupational", CareReason.APPOINTMENT)
    antibiotic = c.prescribe(
        doctor,
        150,
        PENICILLIN_V_1MIU_30,
        dosage="1 tabletti 3 kertaa päivässä 10 vuorokauden ajan",
        daily_quantity=3,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=1,
        purpose="Nielutulehdukseen",
    )
    c.dispense(antibiotic, 150)


def _maria(c: _Medicines) -> None:
    doctor = c.clinician("doctor-private", "sinivuokko-clinic", CareReason.APPOINTMENT)
    antibiotic = c.prescribe(
        doctor,
        42,
        PIVMECILLINAM_200_10,
        dosage="1 tablett 3 gånger dagligen i 3 dagar",
        daily_quantity=3,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=1,
        purpose="Mot urinvägsinfektion",
    )
    c.dispense(antibiotic, 42)


def _emma(c: _Medicines) -> None:
    doctor = c.clinician("doctor-private", "sinivuokko-occupational", CareReason.APPOINTMENT)
    ibuprofen = c.prescribe(
        doctor,
        18,
        IBUPROFEN_400_30,
        dosage="1 tabletti 3 kertaa päivässä ruoan kanssa 1–2 viikon ajan",
        daily_quantity=3,
        amount_kind=AmountKind.PACKAGES,
        amount_packages=1,
        purpose="Alaselkäkipuun",
    )
    c.dispense(ibuprofen, 18)


# (person, the pharmacy they use, story). Children and the deceased person get no prescriptions here.
STORIES: tuple[tuple[str, str, Callable[[_Medicines], None]], ...] = (
    ("matti", "ahomansikka", _matti),
    ("aino", "ahomansikka", _aino),
    ("juhani", "ahomansikka", _juhani),
    ("anna", "ahomansikka", _anna),
    ("erik", "ahomansikka", _erik),
    ("elsa", "ahomansikka", _elsa),
    ("sanna", "ahomansikka", _sanna),
    ("pekka", "ahomansikka", _pekka),
    ("liisa", "ahomansikka", _liisa),
    ("kalle", "ahomansikka", _kalle),
    ("ella", "ahomansikka", _ella),
    ("oliver", "ahomansikka", _oliver),
    ("johan", "kissankello", _johan),
    ("gunnel", "kissankello", _gunnel),
    ("mikael", "kissankello", _mikael),
    ("elias", "kissankello", _elias),
    ("maria", "kissankello", _maria),
    ("emma", "kissankello", _emma),
)


# Printed by `demo_data`: whom to sign in as (or search for) to see what.
HIGHLIGHTS: tuple[tuple[str, str], ...] = (
    (
        "matti",
        "metformin expired, metformin by active substance, atorvastatin renewed (the old one expires within "
        "2 months), amlodipine never dispensed (not renewable); a prescription summary",
    ),
    ("aino", "levothyroxine dispensed in full; her renewal request waits at Hervannan terveysasema"),
    ("elsa", "donepezil prescribed 20 months ago and dispensed: renewable"),
    ("liisa", "codeine (narcotic, valid 1 year), part left; her renewal request was rejected"),
    ("kalle", "oxazepam (CNS-acting, valid 1 year) under his denial: pharmacies do not find it"),
    ("sanna", "mini-pill prescribed by the nurse (limited prescribing right)"),
    ("johan", "consent to use prescriptions abroad; a nasal spray dispensed in Estonia"),
    ("gunnel", "amlodipine expires within 2 months; her renewal request waits at Runosmäen terveysasema"),
)


def print_highlights(stdout, persons: dict[str, Person], highlights: Iterable[tuple[str, str]]) -> None:
    for key, text in highlights:
        person = persons[key]
        stdout.write(f"  {person.identity_code}  {person.full_name}: {text}")


def _print_where_to_look(stdout, site: _Demo) -> None:
    persons = site.persons
    summary = (
        PrescriptionSummary.objects.filter(person=persons["matti"]).order_by("-created_at", "-pk").first()
    )
    stdout.write(
        f"  Pharmacy: sign in as pharmacist (Apteekki Ahomansikka) and search {persons['matti'].identity_code}, "
        f"{persons['liisa'].identity_code} or {persons['kalle'].identity_code}"
        + (f", or enter the summary barcode {summary.barcode}" if summary else "")
        + f"; as dispenser (Apteekki Kissankello) search {persons['johan'].identity_code}."
    )
    stdout.write(
        "  Renewal queues: doctor at Hervannan terveysasema; doctor-turku at Runosmäen terveysasema."
    )


# -- loading -------------------------------------------------------------------------------------------------


def _keep_the_queue_filled(site: _Demo) -> bool:
    """Send a renewal request to the demo doctor's unit if its queue has become empty (module docstring)."""
    unit = site.units[QUEUE_UNIT]
    if selectors.renewal_queue(unit).exists():
        return False
    persons = [site.persons[key] for key in QUEUE_PERSONS]
    if not Prescription.objects.filter(person__in=persons, unit=unit).exists():
        return False
    # A request left unhandled past its days still counts as open until the nightly job marks it expired.
    services.expire_renewal_requests()
    for person in persons:
        for prescription in Prescription.objects.filter(person=person, unit=unit).order_by("-prescribed_at"):
            if rules.renewal_refusal_reason(prescription) is None:
                _Medicines(site, person, "").request_renewal(prescription, QUEUE_UNIT)
                return True
    return False


def load(*, stdout) -> None:
    """Import the sample medicine database, open the renewal queues and write the prescriptions."""
    _import_sample(stdout)
    site = _Demo()
    _accept_renewal_requests(site.units)
    missing = USED_PACKAGES - site.products.keys()
    if missing:
        stdout.write(
            "Prescriptions: the medicine database lacks the sample packages "
            f"{', '.join(sorted(missing))}; no prescriptions written."
        )
        return
    written = skipped = prescriptions = dispensings = 0
    for key, pharmacy, story in STORIES:
        person = site.persons[key]
        if Prescription.objects.filter(person=person).exists():
            skipped += 1
            continue
        medicines = _Medicines(site, person, pharmacy)
        with transaction.atomic():
            story(medicines)
        written += 1
        prescriptions += medicines.prescriptions
        dispensings += medicines.dispensings
    if written:
        # What the nightly job would have done on the days the histories played back.
        services.expire_prescriptions()
        stdout.write(
            f"Prescriptions: {prescriptions} prescriptions and {dispensings} dispensings for {written} persons, "
            "written through prescriptions.services and prescriptions.dispensing"
            + (
                f" ({skipped} persons already had prescriptions and were left as they were)."
                if skipped
                else "."
            )
        )
    else:
        stdout.write(
            f"Prescriptions: every demo person ({skipped}) already has prescriptions; nothing written."
        )
    with transaction.atomic():
        if _keep_the_queue_filled(site):
            stdout.write(
                "Prescriptions: the renewal queue at Hervannan terveysasema was empty; a request was sent."
            )
    print_highlights(stdout, site.persons, HIGHLIGHTS)
    _print_where_to_look(stdout, site)
