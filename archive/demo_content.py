"""Demo content of the Patient Data Repository and the social welfare archive, for `manage.py demo_data`.

Loaded after the core demo (kanta.demo), which finds this module by autodiscovery. Every document, service
event and authorization is written through archive.services as one of the demo professionals, so the rules
(care relationship, own register or purchased-service authorization, code lists, certificate forms) and the
audit log apply exactly as they do for a professional at work. Where a professional's unit has no active care
relationship with the person, the professional confirms one first (kanta.services), as the pages make them do.

Three years of history: the services stamp a document with the time it is written, so after writing one the
loader moves its `recorded_at` back to the day the story says (the content and its audit event are as the
service wrote them; only the clock is played back). Structured entries and service events carry their own
dates, which the services accept for the past.

Idempotent by person: a person who already has any document is left as they are, before anything is written
for them, so a second run writes no row and no audit event. Each person's history is written in one
transaction, so a failure never leaves half a history that would then be skipped.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from archive import services
from archive.forms_spec import LicenceGroup
from archive.models import (
    AuthorizationScope,
    CertificateForm,
    Document,
    DocumentKind,
    PurchasedServiceAuthorization,
    RecordView,
    RiskKind,
    ServiceEvent,
    ServiceTask,
)
from kanta import audit, demo
from kanta.access import active_care_relationship
from kanta.models import CareReason, Person, Professional, Register, RegisterKind, Unit
from kanta.services import care_relationship_confirm

# The service event the consents demo puts under a prohibition (consents/demo_content.py).
PROHIBITED_SERVICE_EVENT_TITLE = "Mielenterveysvastaanotto"
# Imaging study references under the demo arc, like every other demo identifier (kanta.demo.OID_ARC).
STUDY_UID_ROOT = f"{demo.OID_ARC}.5"

# LOINC codes used below, named so the stories read as a lab report does
HB = "718-7"
LEUK = "6690-2"
HBA1C = "59261-8"
P_GLUC = "14749-6"
CREA = "14682-9"
CHOL = "14647-2"
LDL = "22748-8"
HDL = "14646-4"
TRIGLY = "14927-8"
CRP = "1988-5"
K = "2823-3"
NA = "2951-2"
TSH = "3016-3"
T4V = "14920-3"
FERRITIN = "2276-4"
PSA = "2857-1"
TNT = "67151-1"
PROBNP = "33762-6"
# measurements
SYSTOLIC = "8480-6"
DIASTOLIC = "8462-4"
WEIGHT = "29463-7"
HEIGHT = "8302-2"
BMI = "39156-5"
TEMPERATURE = "8310-5"
SPO2 = "59408-5"
# vaccines (ATC)
INFLUENZA = "J07BB02"
COVID = "J07BX03"
TBE = "J07BA01"
MMRV = "J07BD54"
DTAP_IPV = "J07CA02"
HPV = "J07BM02"


class _Demo:
    """The core demo's rows by their demo keys, and today's date."""

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
        self.persons = {codes[p.identity_code]: p for p in Person.objects.filter(identity_code__in=codes)}

    def register(self, organisation: int, kind: str = RegisterKind.HEALTH_CARE) -> Register:
        return Register.objects.select_related("controller").get(
            controller__oid=demo.oid(organisation), kind=kind
        )

    def actor(self, username: str, unit: str) -> audit.Actor:
        professional = self.professionals[username]
        return audit.Actor(user=professional.user, professional=professional, unit=self.units[unit])

    def day(self, days_ago: int) -> datetime.date:
        return self.today - datetime.timedelta(days=days_ago)


class _Chart:
    """One person's history, written by the demo professionals `days_ago` days before today."""

    def __init__(self, site: _Demo, person: Person) -> None:
        self.site = site
        self.person = person
        self.documents = 0

    def clinician(self, username: str, unit: str, reason: str = CareReason.ONGOING) -> audit.Actor:
        """The professional in the unit, with the unit's care relationship confirmed if it has none."""
        actor = self.site.actor(username, unit)
        if active_care_relationship(person=self.person, unit=actor.unit) is None:
            care_relationship_confirm(actor=actor, person=self.person, reason=reason)
        return actor

    def event(
        self, actor: audit.Actor, title: str, days_ago: int, *, organiser_register: Register | None = None
    ) -> ServiceEvent:
        return services.service_event_open(
            actor=actor,
            person=self.person,
            title=title,
            started_on=self.site.day(days_ago),
            organiser_register=organiser_register,
        )

    def write(
        self,
        actor: audit.Actor,
        days_ago: int,
        kind: str,
        title: str,
        text: str = "",
        *,
        hour: int | None = None,
        diagnoses: Iterable[str] = (),
        risks: Iterable[tuple[str, str]] = (),
        procedures: Iterable[str] = (),
        measurements: Mapping[str, str] | None = None,
        labs: Mapping[str, str] | None = None,
        vaccines: Iterable[tuple[str, int]] = (),
        studies: Iterable[services.ImagingStudyInput] = (),
        **fields,
    ) -> Document:
        """Write a document whose entries are dated on its day; the first diagnosis is the primary one."""
        day = self.site.day(days_ago)
        document = services.document_create(
            actor=actor,
            person=self.person,
            kind=kind,
            title=title,
            text=text,
            diagnoses=[
                services.DiagnosisInput(code=code, primary=index == 0, diagnosed_on=day)
                for index, code in enumerate(diagnoses)
            ],
            risks=[
                services.RiskInput(kind=kind_, description=description, recorded_on=day)
                for kind_, description in risks
            ],
            procedures=[services.ProcedureInput(description=text_, performed_on=day) for text_ in procedures],
            measurements=[
                services.MeasurementInput(loinc=loinc, value=Decimal(value), measured_on=day)
                for loinc, value in (measurements or {}).items()
            ],
            lab_results=[
                services.LabResultInput(loinc=loinc, value=Decimal(value), sampled_on=day)
                for loinc, value in (labs or {}).items()
            ],
            vaccinations=[
                services.VaccinationInput(atc=atc, dose=dose, given_on=day) for atc, dose in vaccines
            ],
            imaging_studies=list(studies),
            **fields,
        )
        self.documents += 1
        return self.backdate(document, days_ago, hour=hour)

    def backdate(self, document: Document, days_ago: int, *, hour: int | None = None) -> Document:
        """Move the recording time to the story's day (see the module docstring: the clock is played back)."""
        hour = 8 + (days_ago * 7) % 8 if hour is None else hour
        when = timezone.make_aware(
            datetime.datetime.combine(self.site.day(days_ago), datetime.time(hour, (days_ago * 13) % 60))
        )
        Document.objects.filter(pk=document.pk).update(recorded_at=when)
        document.recorded_at = when
        return document

    # the common kinds, so that a story reads as a record does

    def note(self, actor: audit.Actor, days_ago: int, title: str, text: str, **entries) -> Document:
        return self.write(actor, days_ago, DocumentKind.RECORD_ENTRY, title, text, **entries)

    def labs(
        self, actor: audit.Actor, days_ago: int, results: Mapping[str, str], *, title: str = "", **fields
    ) -> Document:
        sv = self.person.preferred_language == "sv"
        title = title or ("Laboratorieresultat" if sv else "Laboratoriotutkimukset")
        return self.write(actor, days_ago, DocumentKind.LABORATORY, title, labs=results, hour=8, **fields)

    def vaccinate(
        self, actor: audit.Actor, days_ago: int, *vaccines: tuple[str, int], text: str = "", **fields
    ) -> Document:
        sv = self.person.preferred_language == "sv"
        return self.write(
            actor,
            days_ago,
            DocumentKind.VACCINATION,
            "Vaccination" if sv else "Rokotus",
            text or ("Inga reaktioner under uppföljningen." if sv else "Ei reaktioita seuranta-aikana."),
            vaccines=vaccines,
            **fields,
        )


# -- the stories ---------------------------------------------------------------------------------------------
# One function per person. Texts are short notes as Finnish professionals write them: in Finnish, in Swedish
# for the Swedish-speaking persons. Days count back from today.


def _mikael(c: _Chart) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    nurse = c.site.actor("nurse", "hervanta-hc")
    c.note(
        doctor,
        1010,
        "Hengitystieinfektio",
        "Kolme päivää kuumetta, kurkkukipua ja yskää. Nielu punoittaa, keuhkoissa ei rahinoita. "
        "Virusinfektio, oireenmukainen hoito.",
        diagnoses=["J06.9"],
    )
    c.vaccinate(nurse, 760, (COVID, 3))
    check = c.event(nurse, "Terveystarkastus", 205)
    c.note(
        nurse,
        205,
        "Terveystarkastus",
        "Ei oireita. Liikkuu 2–3 kertaa viikossa. Tupakoimaton. Laboratoriokokeet otettu.",
        service_event=check,
        view=RecordView.NURSING,
        measurements={SYSTOLIC: "128", DIASTOLIC: "82", WEIGHT: "84", HEIGHT: "181", BMI: "25.6"},
    )
    c.labs(
        nurse,
        203,
        {HB: "151", P_GLUC: "5.6", CHOL: "5.8", LDL: "3.9", HDL: "1.3", TRIGLY: "1.4", TSH: "1.8"},
        service_event=check,
    )
    c.note(
        doctor,
        196,
        "Laboratoriotulokset",
        "Kokonais- ja LDL-kolesteroli koholla (LDL 3,9), muut tulokset viitealueella. Ruokavalio-ohjaus, "
        "kontrolli vuoden kuluttua. Kertoo saaneensa amoksisilliinista nokkosihottuman 2019: kirjattu "
        "riskitietoihin.",
        service_event=check,
        diagnoses=["E78.0"],
        risks=[(RiskKind.ALLERGY, "Penisilliiniallergia: nokkosihottuma amoksisilliinista (2019)")],
    )
    c.vaccinate(nurse, 35, (INFLUENZA, 1))
    turku = c.clinician("doctor-turku", "runosmaki-hc", CareReason.APPOINTMENT)
    c.note(
        turku,
        12,
        "Nilkan nyrjähdys",
        "Opiskelee Turussa. Kaatui eilen salibandyssä, oikea nilkka vääntyi sisäänpäin. Turvotusta "
        "ulkokehräsen edessä, ei luista aristusta (Ottawan kriteerit negatiiviset), ei röntgeniä. Tukiside, "
        "kylmä ja kohoasento. Kontrolli tarvittaessa.",
        diagnoses=["S93.4"],
    )


def _johan(c: _Chart) -> None:
    doctor = c.clinician("doctor-turku", "runosmaki-hc")
    check = c.event(doctor, "Hälsokontroll", 722)
    c.labs(
        doctor,
        722,
        {HB: "148", P_GLUC: "5.2", CHOL: "4.6", LDL: "2.7", HDL: "1.4", TRIGLY: "1.0", TSH: "2.1"},
        service_event=check,
    )
    c.note(
        doctor,
        720,
        "Hälsokontroll",
        "Hälsokontroll inför ny anställning. Inga besvär. Blodtryck 124/78. Laboratorievärdena normala.",
        service_event=check,
        diagnoses=["Z00.0"],
        measurements={SYSTOLIC: "124", DIASTOLIC: "78"},
    )
    c.vaccinate(doctor, 650, (TBE, 1), text="Sommarstuga i skärgården. Inga reaktioner under uppföljningen.")
    c.vaccinate(doctor, 620, (TBE, 2))
    c.vaccinate(doctor, 280, (TBE, 3))
    c.note(
        doctor,
        220,
        "Pollenallergi",
        "Nästäppa, nysningar och kliande ögon i april–maj sedan flera år, värst vid björkpollen. "
        "Nasal kortikosteroid och antihistamin vid behov.",
        diagnoses=["J30.1"],
    )


def _elias(c: _Chart) -> None:
    doctor = c.clinician("doctor-private", "sinivuokko-occupational")
    c.note(
        doctor,
        480,
        "Työhöntulotarkastus",
        "Aloittaa varastotyöntekijänä. Ei perussairauksia eikä säännöllistä lääkitystä. Kuulo ja näkö "
        "normaalit. Ei estettä työlle. Ohjattu nostotekniikasta.",
        diagnoses=["Z00.0"],
        measurements={SYSTOLIC: "118", DIASTOLIC: "72"},
    )
    c.labs(doctor, 150, {CRP: "38"}, title="CRP-pikatesti")
    c.note(
        doctor,
        150,
        "Kurkkukipu",
        "Kaksi päivää kuumetta ja kurkkukipua. Nielurisat peitteiset, strep A -pikatesti positiivinen. "
        "Streptokokkinielutulehdus, fenoksimetyylipenisilliini 10 vrk. Kolme päivää poissa töistä.",
        diagnoses=["J02.0"],
    )
    c.vaccinate(doctor, 40, (INFLUENZA, 1))


def _ella(c: _Chart) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    event = c.event(doctor, "Masennuksen hoito", 690)
    c.note(
        doctor,
        690,
        "Mieliala",
        "Opiskelija. Mieliala ollut matala syksystä, univaikeuksia ja keskittymisvaikeuksia. PHQ-9 14 pistettä. "
        "Ei itsetuhoisia ajatuksia. Aloitetaan sertraliini 50 mg, ohjaus opiskeluterveydenhuollon "
        "psykologille. Kontrolli neljän viikon kuluttua.",
        service_event=event,
        diagnoses=["F32.1"],
    )
    c.note(
        doctor,
        660,
        "Mieliala, kontrolli",
        "Sertraliini hyvin siedetty, mieliala ja uni parempia. Käy psykologilla. Jatketaan lääkitystä.",
        service_event=event,
        diagnoses=["F32.1"],
    )
    private = c.clinician("doctor-private", "sinivuokko-clinic", CareReason.APPOINTMENT)
    c.note(
        private,
        110,
        "Ehkäisyneuvonta",
        "Toivoo yhdistelmäehkäisyä. Ei migreeniä, ei tupakointia, ei laskimotukoksia suvussa. RR 116/74. "
        "Aloitetaan yhdistelmäehkäisytabletti, kontrolli vuoden kuluttua.",
        diagnoses=["Z30.0"],
        measurements={SYSTOLIC: "116", DIASTOLIC: "74"},
    )


def _aino(c: _Chart) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    nurse = c.site.actor("nurse", "hervanta-hc")
    thyroid = c.event(doctor, "Kilpirauhasen vajaatoiminta", 525)
    c.labs(doctor, 525, {TSH: "7.9", T4V: "8.1", HB: "128"}, service_event=thyroid)
    c.note(
        doctor,
        520,
        "Väsymys",
        "Väsymystä ja palelua puolen vuoden ajan. TSH 7,9 ja T4V 8,1. Kilpirauhasen vajaatoiminta, aloitetaan "
        "levotyroksiini 50 µg. Kontrolli-TSH 6–8 viikon kuluttua.",
        service_event=thyroid,
        diagnoses=["E03.9"],
    )
    c.labs(doctor, 470, {TSH: "3.1"}, service_event=thyroid)
    c.vaccinate(nurse, 400, (TBE, 1), text="Mökki Ahvenanmaalla. Ei reaktioita seuranta-aikana.")
    c.vaccinate(nurse, 370, (TBE, 2))
    c.labs(doctor, 140, {TSH: "1.9"}, service_event=thyroid)
    # Written with the wrong side and corrected the next day: the history shows both versions.
    ankle = c.note(
        doctor,
        85,
        "Nilkan vamma",
        "Liukastui portaissa, vasen nilkka vääntyi. Turvotusta ja mustelmaa ulkokehräsen alueella, röntgenissä "
        "ei murtumaa. Nilkan nyrjähdys, tukiside ja kevennys viikon ajan.",
        diagnoses=["S93.4"],
    )
    corrected = services.document_correct(
        actor=doctor,
        document=ankle,
        title="Nilkan vamma",
        text="Liukastui portaissa, oikea nilkka vääntyi. Turvotusta ja mustelmaa ulkokehräsen alueella, "
        "röntgenissä ei murtumaa. Nilkan nyrjähdys, tukiside ja kevennys viikon ajan. Korjaus: puoli oli "
        "kirjattu väärin.",
        diagnoses=[services.DiagnosisInput(code="S93.4", primary=True, diagnosed_on=c.site.day(85))],
    )
    c.backdate(corrected, 84)


def _juhani(c: _Chart) -> None:
    dentist = c.clinician("dentist", "hervanta-dental", CareReason.APPOINTMENT)
    c.note(
        dentist,
        500,
        "Hammastarkastus",
        "Karies hampaassa 36 distaalisesti, paikattu yhdistelmämuovilla. Hammaskivi poistettu. Seuraava "
        "tarkastus kahden vuoden kuluttua.",
        view=RecordView.ORAL_HEALTH,
        diagnoses=["K02.9"],
        procedures=["Hampaan 36 paikkaus, yksi pinta"],
    )
    doctor = c.clinician("doctor", "hervanta-hc")
    pressure = c.event(doctor, "Kohonnut verenpaine", 305)
    c.labs(
        doctor,
        305,
        {K: "4.1", NA: "140", CREA: "86", P_GLUC: "5.8", CHOL: "5.4", LDL: "3.4", HDL: "1.1", TRIGLY: "1.9"},
        service_event=pressure,
    )
    c.note(
        doctor,
        300,
        "Kohonnut verenpaine",
        "Kotimittausten keskiarvo 148/94. EKG normaali, ei merkkejä kohde-elinvauriosta. Aloitetaan "
        "ramipriili 5 mg. Ohjattu suolan ja alkoholin vähentämiseen ja liikuntaan.",
        service_event=pressure,
        diagnoses=["I10"],
        measurements={SYSTOLIC: "152", DIASTOLIC: "96"},
    )
    c.note(
        doctor,
        240,
        "Verenpaineen kontrolli",
        "Kotimittauksissa keskiarvo 134/86. Ramipriili hyvin siedetty. Verenpaine hoitotavoitteessa, "
        "seuraava kontrolli vuoden kuluttua.",
        service_event=pressure,
        diagnoses=["I10"],
        measurements={SYSTOLIC: "134", DIASTOLIC: "86"},
    )


def _helmi(c: _Chart) -> None:
    nurse = c.site.actor("healthnurse", "hervanta-clinic")
    c.note(
        nurse,
        850,
        "Laaja terveystarkastus 5 v",
        "Kasvu omalla käyrällään. Puhe ja motoriikka ikätasoisia. Leikkii mielellään muiden kanssa. "
        "Perheen vointi hyvä.",
        view=RecordView.NURSING,
        measurements={HEIGHT: "111", WEIGHT: "19"},
    )
    c.note(
        nurse,
        250,
        "Terveystarkastus 6 v",
        "Kasvu ja kehitys ikätasoisia. Näkö ja kuulo normaalit. Kouluvalmiudet hyvät. MPRV-rokote annettu.",
        view=RecordView.NURSING,
        measurements={HEIGHT: "119", WEIGHT: "21.8"},
    )
    c.vaccinate(nurse, 250, (MMRV, 2))
    doctor = c.clinician("doctor", "hervanta-hc")
    c.note(
        doctor,
        45,
        "Korvakipu",
        "Kaksi päivää kuumetta ja korvakipua, nuhaa viikon. Oikea tärykalvo punoittaa ja pullottaa. Akuutti "
        "välikorvatulehdus, amoksisilliini 7 vrk. Kontrolli tarvittaessa.",
        diagnoses=["H66.9"],
        measurements={TEMPERATURE: "38.6"},
    )


def _onni(c: _Chart) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    c.note(
        doctor,
        600,
        "Kurkkukipu",
        "Kuumetta 38,9 ja nielukipua. Nielurisat peitteiset, strep A -pikatesti positiivinen. "
        "Streptokokkitonsilliitti, fenoksimetyylipenisilliini 10 vrk.",
        diagnoses=["J02.0"],
    )
    # For a child aged 10 to 17 guardians see only documents a professional has marked for them.
    c.note(
        doctor,
        95,
        "Astman seurantakäynti",
        "Astma todettu 2024. Oireeton säännöllisellä inhaloitavalla kortisonilla, PEF-seuranta normaali. "
        "Jatketaan nykyistä hoitoa, kontrolli vuoden kuluttua.",
        diagnoses=["J45.0"],
        disclosable_to_guardians=True,
    )


def _anna(c: _Chart) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    nurse = c.site.actor("nurse", "hervanta-hc")
    anaemia = c.event(doctor, "Järnbristanemi", 960)
    c.labs(doctor, 960, {HB: "112", FERRITIN: "9"}, service_event=anaemia)
    c.note(
        doctor,
        958,
        "Trötthet",
        "Trötthet sedan några månader, rikliga menstruationer. Hb 112, ferritin 9. Järnbristanemi. Peroralt "
        "järn i tre månader, därefter kontroll av Hb och ferritin.",
        service_event=anaemia,
        diagnoses=["D50.9"],
    )
    c.labs(doctor, 870, {HB: "128", FERRITIN: "34"}, service_event=anaemia)
    c.vaccinate(nurse, 430, (TBE, 3))
    c.note(
        doctor,
        240,
        "Huvudvärk",
        "Återkommande ensidig pulserande huvudvärk med illamående och ljuskänslighet 2–3 gånger i månaden "
        "sedan tonåren, ingen aura. Neurologiskt status normalt. Migrän utan aura: triptan vid anfall, "
        "huvudvärksdagbok.",
        diagnoses=["G43.0"],
    )


def _erik(c: _Chart) -> None:
    doctor = c.clinician("doctor", "pirkanmaa-ward")
    nurse = c.site.actor("nurse", "pirkanmaa-ward")
    stay = c.event(doctor, "Förmaksflimmer, vårdperiod", 471)
    c.labs(
        doctor,
        471,
        {K: "3.6", NA: "139", CREA: "92", TNT: "9", PROBNP: "310", TSH: "1.4", HB: "149"},
        service_event=stay,
    )
    c.note(
        doctor,
        471,
        "Inskrivning",
        "Hjärtklappning sedan i går kväll. EKG: förmaksflimmer, kammarfrekvens 130. Ingen bröstsmärta, TnT 9. "
        "Frekvensreglering med betablockerare. CHA₂DS₂-VASc 0.",
        service_event=stay,
        view=RecordView.SPECIALTY,
        diagnoses=["I48.9", "R00.2"],
        measurements={SYSTOLIC: "138", DIASTOLIC: "88"},
        hour=22,
    )
    c.note(
        nurse,
        470,
        "Omvårdnad",
        "Natten lugn. Sinusrytm sedan kl. 4. Mår bra, har varit uppe och gått.",
        service_event=stay,
        view=RecordView.NURSING,
        hour=7,
    )
    c.note(
        doctor,
        470,
        "Utskrivningssammanfattning",
        "Förmaksflimmer som konverterade spontant till sinusrytm. Ingen antikoagulation (CHA₂DS₂-VASc 0). "
        "Betablockerare vid behov. Uppföljning på hälsostationen vid återkommande besvär.",
        service_event=stay,
        view=RecordView.SUMMARY,
        diagnoses=["I48.9"],
        hour=14,
    )


def _oskar(c: _Chart) -> None:
    nurse = c.site.actor("nurse", "hervanta-hc")
    doctor = c.clinician("doctor", "hervanta-hc")
    c.vaccinate(nurse, 800, (HPV, 1))
    c.note(
        doctor,
        190,
        "Fotledsskada",
        "Skadade höger fotled på fotbollsträning. Svullnad lateralt, ingen benömhet enligt Ottawa-kriterierna. "
        "Distorsion. Stödbandage och vila från träning i två veckor.",
        diagnoses=["S93.4"],
        disclosable_to_guardians=True,
    )
    c.note(
        doctor,
        55,
        "Sömnsvårigheter",
        "Kommer ensam. Svårt att somna sedan skolstarten, tankar kring skolan och kompisar. Inga tecken på "
        "depression. Sömnhygien genomgången, uppföljning hos skolhälsovårdaren.",
        diagnoses=["F51.0"],
    )
    social = c.clinician("socialworker", "tampere-social", CareReason.SOCIAL_SERVICE)
    c.write(
        social,
        330,
        DocumentKind.SERVICE_NEED_ASSESSMENT,
        "Bedömning av servicebehov",
        "Familjen ansökte om familjearbete. Föräldrarna upplever att det är svårt att få Oskar till skolan på "
        "morgnarna. Behov av stöd finns; familjearbete en gång i veckan i tre månader.",
        service_task=ServiceTask.FAMILY_SERVICES,
    )


def _sanna(c: _Chart) -> None:
    social = c.clinician("socialworker", "tampere-social", CareReason.SOCIAL_SERVICE)
    task = {"service_task": ServiceTask.WORKING_AGE_SERVICES}
    c.write(
        social,
        410,
        DocumentKind.CLIENT_RELATIONSHIP_START,
        "Asiakkuuden alkaminen",
        "Asiakkuus aikuissosiaalityössä alkaa. Asiakas otti itse yhteyttä asumiseen ja toimeentuloon liittyen.",
        **task,
    )
    c.write(
        social,
        400,
        DocumentKind.SERVICE_NEED_ASSESSMENT,
        "Palvelutarpeen arviointi",
        "Asiakas on muuttanut äskettäin paikkakunnalle. Tarvitsee tukea asunnon löytämisessä ja arjen "
        "järjestämisessä. Palvelutarve: asumisen tuki ja sosiaaliohjaus.",
        **task,
    )
    # Special content never shows in MyKanta (DOMAIN.md): the professional still sees it.
    c.write(
        social,
        398,
        DocumentKind.SERVICE_NEED_ASSESSMENT,
        "Turvallisuuden arviointi",
        "Arvio asiakkaan turvallisuudesta palvelutarpeen arvioinnin osana. Sisältää tietoja, joiden "
        "näyttäminen verkkopalvelussa voisi vaarantaa asiakkaan turvallisuuden.",
        special_content=True,
        **task,
    )
    c.write(
        social,
        380,
        DocumentKind.CLIENT_PLAN,
        "Asiakassuunnitelma",
        "Tavoitteet: oma vuokra-asunto kolmen kuukauden kuluessa ja arjen rutiinien vakiintuminen. Keinot: "
        "asumisneuvonta ja tapaamiset sosiaaliohjaajan kanssa kahden viikon välein. Arviointi kolmen "
        "kuukauden kuluttua.",
        **task,
    )
    c.write(
        social,
        370,
        DocumentKind.DECISION,
        "Päätös tuetusta asumisesta",
        "Asiakkaalle myönnetään tuettu asuminen (sosiaalihuoltolaki 21 §) kuudeksi kuukaudeksi. "
        "Oikaisuvaatimusohje liitteenä.",
        **task,
    )
    doctor = c.clinician("doctor", "hervanta-hc")
    c.note(
        doctor,
        140,
        "Ahdistuneisuus",
        "Jatkuvaa huolestuneisuutta, jännittyneisyyttä ja univaikeuksia yli puolen vuoden ajan. GAD-7 15 "
        "pistettä. Ohjaus psykoterapiaan, aloitetaan essitalopraami 5 mg. Kontrolli neljän viikon kuluttua.",
        diagnoses=["F41.1"],
    )


def _elsa(c: _Chart) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    nurse = c.site.actor("nurse", "hervanta-hc")
    memory = c.event(doctor, "Muistisairaus", 625)
    c.note(
        doctor,
        620,
        "Muistitutkimukset",
        "Tytär huolissaan muistista vuoden ajan. MMSE 21/30. Pään TT:ssä lievää atrofiaa, ei vuotoa. "
        "Alzheimerin tauti, myöhäinen alku. Aloitetaan donepetsiili 5 mg, muistihoitajan seuranta.",
        service_event=memory,
        diagnoses=["G30.1", "I10"],
        measurements={SYSTOLIC: "146", DIASTOLIC: "78"},
    )
    c.vaccinate(nurse, 395, (INFLUENZA, 1))
    ward = c.clinician("doctor", "pirkanmaa-ward")
    ward_nurse = c.site.actor("nurse", "pirkanmaa-ward")
    stay = c.event(ward, "Keuhkokuume, osastojakso", 322)
    c.labs(ward, 322, {CRP: "148", LEUK: "14.2", HB: "112", NA: "133", CREA: "96"}, service_event=stay)
    c.note(
        ward,
        322,
        "Tulotilanne",
        "Kolme päivää kuumetta ja yskää, sekavuutta. SpO₂ 90 %. Oikealla basaalisesti rahinoita. CRP 148. "
        "Thoraxkuvassa oikean alalohkon infiltraatti. Keuhkokuume, aloitetaan kefuroksiimi suoneen.",
        service_event=stay,
        view=RecordView.SPECIALTY,
        diagnoses=["J18.9"],
        measurements={TEMPERATURE: "38.4", SPO2: "90"},
    )
    c.note(
        ward_nurse,
        321,
        "Hoitotyö",
        "Yö levoton, ajoittain sekava. Happea 2 l/min viiksillä. Juo hyvin avustettuna.",
        service_event=stay,
        view=RecordView.NURSING,
    )
    c.note(
        ward,
        317,
        "Loppulausunto",
        "Keuhkokuume parani suonensisäisellä antibiootilla, jatkoksi amoksisilliini-klavulaanihappo suun kautta "
        "5 vrk. Kotiutuu kotihoidon tukemana. Kontrolli-CRP terveysasemalla kahden viikon kuluttua.",
        service_event=stay,
        view=RecordView.SUMMARY,
        diagnoses=["J18.9"],
    )
    social = c.clinician("socialworker", "tampere-social", CareReason.SOCIAL_SERVICE)
    task = {"service_task": ServiceTask.ELDERLY_SERVICES}
    c.write(
        social,
        125,
        DocumentKind.SERVICE_NEED_ASSESSMENT,
        "Palvelutarpeen arviointi",
        "Kotikäynti yhdessä tyttären kanssa. Asiakas tarvitsee apua lääkehoidossa, peseytymisessä ja "
        "ruoanlaitossa. RAI-arvion perusteella tarve säännölliselle kotihoidolle.",
        **task,
    )
    c.write(
        social,
        118,
        DocumentKind.DECISION,
        "Päätös säännöllisestä kotihoidosta",
        "Asiakkaalle myönnetään säännöllinen kotihoito, kaksi käyntiä päivässä. Asiakasmaksu määräytyy "
        "tulojen mukaan. Oikaisuvaatimusohje liitteenä.",
        **task,
    )
    c.write(
        social,
        115,
        DocumentKind.CLIENT_PLAN,
        "Asiakassuunnitelma",
        "Tavoitteena turvallinen kotona asuminen. Kotihoidon käynnit aamulla ja illalla, ateriapalvelu ja "
        "turvaranneke. Tytär hoitaa asioinnin. Arviointi kuuden kuukauden kuluttua.",
        **task,
    )
    c.write(
        doctor,
        90,
        DocumentKind.CARE_PLAN,
        "Terveys- ja hoitosuunnitelma",
        "Tavoite: turvallinen kotona asuminen kotihoidon tuella. Muistilääkitys jatkuu, verenpainetavoite alle "
        "150/90. Kaatumisten ehkäisy: fysioterapeutin kotikäynti. Tytär mukana hoidon suunnittelussa. "
        "Seuraava arvio puolen vuoden kuluttua.",
        service_event=memory,
    )
    c.vaccinate(nurse, 30, (INFLUENZA, 1), (COVID, 7))


def _gunnel(c: _Chart) -> None:
    doctor = c.clinician("doctor-turku", "runosmaki-hc")
    c.note(
        doctor,
        270,
        "Försämrad syn",
        "Försämrad syn på höger öga sedan ett år, bländas vid bilkörning i mörker. Visus hö 0,3, vä 0,7. "
        "Grå starr, mest på höger öga. Remiss för kataraktoperation.",
        diagnoses=["H25.9"],
    )
    c.write(
        doctor,
        268,
        DocumentKind.REFERRAL,
        "Remiss: kataraktoperation, höger öga",
        "Remiss för operation av grå starr på höger öga. Köpt tjänst enligt välfärdsområdets avtal: "
        "Blåsippans läkarstation, Åbo.",
        diagnoses=["H25.9"],
    )
    # The private clinic operates under the county's register-wide purchased-service authorization and
    # writes into the county's register, where the health centre sees the result as its own.
    surgeon = c.clinician("doctor-private", "sinivuokko-clinic", CareReason.REFERRAL)
    county = c.site.register(2)
    surgery = c.event(surgeon, "Kataraktoperation", 180, organiser_register=county)
    c.note(
        surgeon,
        180,
        "Operationsberättelse",
        "Fakoemulsifikation och implantation av bakre kammarlins, höger öga. Okomplicerat ingrepp. "
        "Postoperativa ögondroppar enligt schema, kontroll om fyra veckor.",
        service_event=surgery,
        organiser_register=county,
        view=RecordView.SPECIALTY,
        diagnoses=["H25.9"],
        procedures=["Kataraktoperation med linsimplantat, höger öga"],
    )
    c.vaccinate(doctor, 25, (INFLUENZA, 1), (COVID, 7))


def _oliver(c: _Chart) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    c.note(
        doctor,
        150,
        "Ihottuma pohkeessa",
        "Huomasi punkin pohkeessaan saaristoretken jälkeen kolme viikkoa sitten. Pohkeessa 8 cm:n "
        "rengasmainen punoitus. Erythema migrans, Lymen borrelioosi. Doksisykliini 100 mg kahdesti päivässä "
        "10 vrk. Vastaanotto englanniksi.",
        diagnoses=["A69.2"],
    )
    c.vaccinate(c.site.actor("nurse", "hervanta-hc"), 145, (TBE, 1))


def _matti(c: _Chart) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    nurse = c.site.actor("nurse", "hervanta-hc")
    diabetes = c.event(doctor, "Tyypin 2 diabetes", 985)
    lipids = {CHOL: "6.1", LDL: "4.0", HDL: "0.9", TRIGLY: "2.6"}
    c.labs(doctor, 985, {HBA1C: "62", P_GLUC: "8.4", CREA: "84", **lipids}, service_event=diabetes)
    c.note(
        doctor,
        980,
        "Diabeteksen toteaminen",
        "Paastosokeri 8,4 ja HbA1c 62: tyypin 2 diabetes. Paino 104 kg, BMI 33. Aloitetaan metformiini ja "
        "atorvastatiini. Ravitsemusterapeutin ohjaus.",
        service_event=diabetes,
        diagnoses=["E11.9", "E78.2", "E66.9"],
        measurements={WEIGHT: "104", BMI: "33", SYSTOLIC: "146", DIASTOLIC: "90"},
    )
    c.labs(doctor, 540, {HBA1C: "51", LDL: "2.6", TRIGLY: "1.9"}, service_event=diabetes)
    c.note(
        doctor,
        535,
        "Diabeteksen vuosikontrolli",
        "Hoitotasapaino parantunut, HbA1c 51. Paino laskenut 4 kg. Jalkojen tunto normaali. Jatketaan "
        "nykyistä hoitoa.",
        service_event=diabetes,
        diagnoses=["E11.9"],
        measurements={WEIGHT: "100"},
    )
    c.labs(
        doctor,
        70,
        {HBA1C: "47", P_GLUC: "7.2", CREA: "89", CHOL: "4.3", LDL: "2.2", HDL: "1.0", TRIGLY: "1.6"},
        service_event=diabetes,
    )
    c.note(
        doctor,
        65,
        "Diabeteksen vuosikontrolli",
        "HbA1c 47 ja LDL 2,2: tavoitteissa. Verenpaine 138/84. Silmänpohjakuvauksessa ei retinopatiaa.",
        service_event=diabetes,
        diagnoses=["E11.9", "I10"],
        measurements={SYSTOLIC: "138", DIASTOLIC: "84", WEIGHT: "99"},
    )
    c.write(
        doctor,
        60,
        DocumentKind.CARE_PLAN,
        "Terveys- ja hoitosuunnitelma",
        "Tavoitteet: HbA1c alle 53 mmol/mol, LDL alle 2,6 mmol/l, verenpaine alle 140/80 ja painon lasku 5 kg "
        "vuodessa. Keinot: metformiini ja atorvastatiini jatkuvat, liikuntaa 150 min viikossa. Seuranta: "
        "laboratoriokokeet ja diabeteshoitajan käynti puolen vuoden välein, jalkojen ja silmänpohjien "
        "tutkimus vuosittain.",
        service_event=diabetes,
    )
    c.write(
        doctor,
        58,
        DocumentKind.CERTIFICATE,
        "Ajoterveystodistus",
        "Ryhmän 2 ajokortin uusimista varten. Tyypin 2 diabetes hyvässä hoitotasapainossa tablettihoidolla, "
        "ei hypoglykemioita. Näkö ja kuulo riittävät.",
        certificate_form=CertificateForm.F122,
        form_data={
            "licence_group": LicenceGroup.GROUP_2,
            "fit_to_drive": True,
            "restrictions": "",
            "next_check_on": c.site.day(58) + datetime.timedelta(days=3 * 365),
        },
    )
    c.vaccinate(nurse, 33, (INFLUENZA, 1))
    # Recorded for the wrong patient and invalidated: kept, but hidden from the summaries.
    wrong = c.labs(doctor, 30, {HB: "98", CRP: "54"})
    services.document_invalidate(
        actor=doctor,
        document=wrong,
        reason="Näyte kirjattu väärälle potilaalle; tulokset eivät ole potilaan.",
    )


def _liisa(c: _Chart) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    county = c.site.register(1)
    knee = c.event(doctor, "Polvikipu", 80)
    c.note(
        doctor,
        80,
        "Polvikipu",
        "Oikean polven kipu puoli vuotta, pahenee portaissa. Lievä nesteily, sisemmän nivelraon aristus. "
        "Nivelrikko? Magneettitutkimus ostopalveluna.",
        service_event=knee,
        diagnoses=["M25.5"],
    )
    c.write(
        doctor,
        80,
        DocumentKind.IMAGING_REQUEST,
        "Kuvauspyyntö: oikean polven magneettitutkimus",
        "Oikean polven kipu kuusi kuukautta. Kysymyksenasettelu: nivelrikko, nivelkierukan repeämä? "
        "Tutkimus ostopalveluna Sinivuokko lääkäriasemalla.",
        service_event=knee,
    )
    # One patient's study bought from the private provider: it writes into the county's register.
    services.authorization_create(
        actor=doctor,
        register=county,
        scope=AuthorizationScope.PATIENT,
        person=c.person,
        producer=c.site.units["sinivuokko-clinic"].organisation,
        starts_on=c.site.day(80),
        ends_on=c.site.day(-180),
        ordered_service="Polven magneettitutkimus ja radiologin lausunto",
    )
    radiologist = c.clinician("doctor-private", "sinivuokko-clinic", CareReason.REFERRAL)
    day = c.site.day(66)
    c.write(
        radiologist,
        66,
        DocumentKind.IMAGING_STATEMENT,
        "Magneettitutkimus, oikea polvi",
        "Sisemmässä nivelraossa rustokatoa ja osteofyyttejä, sisemmän nivelkierukan takasarvessa "
        "degeneratiivinen repeämä. Lievä nivelnesteily, ei luuydinturvotusta. Johtopäätös: sisemmän "
        "nivelraon nivelrikko ja degeneratiivinen kierukkarepeämä.",
        service_event=knee,
        organiser_register=county,
        diagnoses=["M17.1"],
        studies=[
            services.ImagingStudyInput(
                study_instance_uid=f"{STUDY_UID_ROOT}.1.{day:%Y%m%d}.1",
                modality="MR",
                examination="Polven magneettitutkimus",
                performed_on=day,
            )
        ],
    )
    c.note(
        doctor,
        50,
        "Polvikipu, kuvantamisen tulos",
        "Magneettitutkimuksessa sisemmän nivelraon nivelrikko. Fysioterapia, painonhallinta ja "
        "tulehduskipulääke tarvittaessa. Ei leikkausaihetta.",
        service_event=knee,
        diagnoses=["M17.1"],
    )


def _pekka(c: _Chart) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    prostate = c.event(doctor, "Eturauhasen tutkimukset", 130)
    c.labs(doctor, 130, {PSA: "8.9", CREA: "91"}, service_event=prostate)
    c.note(
        doctor,
        125,
        "Virtsaamisvaivat",
        "Virtsasuihku heikentynyt, yöllistä virtsaamistarvetta. PSA 8,9. Peräaukon kautta tunnustellen "
        "eturauhanen suurentunut, oikeassa lohkossa kova alue. Lähete urologian poliklinikalle.",
        service_event=prostate,
        diagnoses=["N40"],
    )
    c.write(
        doctor,
        125,
        DocumentKind.REFERRAL,
        "Lähete urologian poliklinikalle",
        "Kiireellinen lähete: PSA 8,9 µg/l ja palpaatiolöydös eturauhasen oikeassa lohkossa. Pyydetään "
        "eturauhasen magneettitutkimus ja koepalat.",
        service_event=prostate,
        diagnoses=["N40"],
    )
    # Held back from MyKanta until the doctor has told the patient at the appointment.
    result = c.note(
        doctor,
        8,
        "Koepalojen tulos",
        "Eturauhasen koepaloissa adenokarsinooma, Gleason 3+4=7. Jatkohoidon suunnittelu urologian "
        "poliklinikalla. Tulos kerrotaan potilaalle vastaanotolla.",
        service_event=prostate,
        diagnoses=["C61"],
    )
    services.document_delay_display(
        actor=doctor,
        document=result,
        until=c.site.day(-9),
        reason="Tulos kerrotaan potilaalle vastaanotolla ennen kuin se näkyy Omakannassa.",
    )
    c.vaccinate(c.site.actor("nurse", "hervanta-hc"), 28, (INFLUENZA, 1), (COVID, 6))


def _maria(c: _Chart) -> None:
    doctor = c.clinician("doctor-private", "sinivuokko-clinic", CareReason.APPOINTMENT)
    c.labs(doctor, 42, {CRP: "6"})
    c.note(
        doctor,
        42,
        "Sveda vid miktion",
        "Sveda vid miktion och täta trängningar i två dagar. Ingen feber, inga flanksmärtor. U-sticka: "
        "leukocyter och nitrit positiva. Akut cystit, pivmecillinam i tre dagar.",
        diagnoses=["N30.0"],
    )


def _kalle(c: _Chart) -> None:
    doctor = c.clinician("doctor", "hervanta-hc")
    nurse = c.site.actor("nurse", "hervanta-hc")
    mental = c.event(doctor, PROHIBITED_SERVICE_EVENT_TITLE, 210)
    c.note(
        doctor,
        210,
        "Paniikkikohtaukset",
        "Paniikkikohtauksia kuukauden ajan, viimeksi bussissa. Sydänfilmi ja laboratoriokokeet normaalit. "
        "Paniikkihäiriö. Ohjaus psykiatriselle sairaanhoitajalle kognitiiviseen lyhytterapiaan.",
        service_event=mental,
        diagnoses=["F41.0"],
    )
    c.note(
        nurse,
        180,
        "Terapiakäynti",
        "Toinen tapaaminen. Kohtaukset harventuneet, hengitysharjoitukset auttavat. Jatketaan viikoittain.",
        service_event=mental,
        view=RecordView.NURSING,
    )
    c.note(
        doctor,
        25,
        "Olkapääkipu",
        "Oikean olkapään kipu kuntosalin jälkeen kolme viikkoa. Loitonnus kivulias 60–120 asteen välillä, "
        "voima säilynyt. Kiertäjäkalvosimen oireyhtymä: fysioterapia ja tulehduskipulääke 1–2 viikkoa.",
        diagnoses=["M75.1"],
    )


def _emma(c: _Chart) -> None:
    doctor = c.clinician("doctor-private", "sinivuokko-occupational", CareReason.APPOINTMENT)
    visit = c.event(doctor, "Alaselkäkipu", 18)
    c.note(
        doctor,
        18,
        "Alaselkäkipu",
        "Nostaessaan laatikkoa töissä äkillinen alaselkäkipu. Ei säteilyä alaraajoihin eikä neurologisia "
        "puutosoireita, Lasègue negatiivinen. Mekaaninen alaselkäkipu: tulehduskipulääke ja liikkeellä "
        "pysyminen. Sairauslomaa seitsemän päivää.",
        service_event=visit,
        diagnoses=["M54.5"],
    )
    c.write(
        doctor,
        18,
        DocumentKind.CERTIFICATE,
        "Lääkärintodistus A",
        service_event=visit,
        certificate_form=CertificateForm.SV6,
        form_data={
            "diagnosis_code": "M54.5",
            "incapacity_from": c.site.day(18),
            "incapacity_to": c.site.day(12),
            "statement": "Äkillinen mekaaninen alaselkäkipu. Työ on fyysisesti raskasta varastotyötä, "
            "työkyvytön seitsemän päivää.",
        },
    )


STORIES: tuple[tuple[str, Callable[[_Chart], None]], ...] = (
    ("mikael", _mikael),
    ("johan", _johan),
    ("elias", _elias),
    ("ella", _ella),
    ("aino", _aino),
    ("juhani", _juhani),
    ("helmi", _helmi),
    ("onni", _onni),
    ("anna", _anna),
    ("erik", _erik),
    ("oskar", _oskar),
    ("sanna", _sanna),
    ("elsa", _elsa),
    ("gunnel", _gunnel),
    ("oliver", _oliver),
    ("matti", _matti),
    ("liisa", _liisa),
    ("pekka", _pekka),
    ("maria", _maria),
    ("kalle", _kalle),
    ("emma", _emma),
)


# Printed by `demo_data`: whom to sign in as to see what.
HIGHLIGHTS: tuple[tuple[str, str], ...] = (
    (
        "matti",
        "three years of diabetes care: lab trends, care plan, F122 certificate, an invalidated document",
    ),
    ("aino", "a corrected record entry: its history shows both versions"),
    ("pekka", "a biopsy result held back from MyKanta until the appointment (the doctor sees it)"),
    ("liisa", "knee MRI bought from a private provider: request, statement, study reference"),
    ("gunnel", "cataract surgery by a private provider under a county's register-wide authorization"),
    ("elsa", "ward stay, vaccinations, care plan; elderly services decision and client plan"),
    ("sanna", "social welfare documents; one of special content, never shown in MyKanta"),
    ("oskar", "aged 14: guardians Anna and Erik Lindqvist see only the one document marked for them"),
    ("emma", "occupational health visit with an SV 6 certificate"),
)


def print_highlights(
    stdout, site_persons: dict[str, Person], highlights: tuple[tuple[str, str], ...]
) -> None:
    for key, text in highlights:
        person = site_persons[key]
        stdout.write(f"  {person.identity_code}  {person.full_name}: {text}")


# -- loading -------------------------------------------------------------------------------------------------


def _register_wide_authorization(site: _Demo) -> bool:
    """Varsinais-Suomi buys cataract surgery from the private provider for its whole register."""
    register = site.register(2)
    producer = site.units["sinivuokko-clinic"].organisation
    exists = PurchasedServiceAuthorization.objects.filter(
        register=register, producer=producer, scope=AuthorizationScope.REGISTER, ends_on__gte=site.today
    ).exists()
    if exists:
        return False
    services.authorization_create(
        actor=site.actor("doctor-turku", "runosmaki-hc"),
        register=register,
        scope=AuthorizationScope.REGISTER,
        producer=producer,
        starts_on=site.day(400),
        ends_on=site.day(-2 * 365),
        ordered_service="Kaihileikkaukset (harmaakaihi) ostopalveluna",
    )
    return True


def load(*, stdout) -> None:
    """Write the archive's demo histories; a person who already has documents is skipped."""
    site = _Demo()
    with transaction.atomic():
        _register_wide_authorization(site)
    written = skipped = documents = 0
    for key, story in STORIES:
        person = site.persons[key]
        if Document.objects.filter(person=person).exists():
            skipped += 1
            continue
        chart = _Chart(site, person)
        with transaction.atomic():
            story(chart)
        written += 1
        documents += chart.documents
    if written:
        stdout.write(
            f"Archive: {documents} documents for {written} persons, written through archive.services"
            + (f" ({skipped} persons already had documents and were left as they were)." if skipped else ".")
        )
    else:
        stdout.write(f"Archive: every demo person ({skipped}) already has documents; nothing written.")
    print_highlights(stdout, site.persons, HIGHLIGHTS)
