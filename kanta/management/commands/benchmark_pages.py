"""Server time and query count of the pages that must stay fast at national scale (docs/operations.md).

For the persons with the most documents in the current database it requests, through Django's test client
(no network, no browser), the citizen's records page, the citizen's disclosure log and the professional's
person overview; for the persons with the most prescriptions, the citizen's prescriptions page and the
pharmacy's list after an identity-code search; and the renewal queue of the units with the most open
requests. It prints the median and 95th percentile of the server time and the number of queries of each
page. It is a management command rather than a script so that it runs against whatever database
DATABASE_URL names, with the project's settings and middleware, exactly like a request to the server.

It writes what a real session would: a benchmark professional (user, TOTP device, membership of the person's
unit) and a benchmark pharmacist at a pharmacy, the care relationships the overview and the pharmacy list need, the person's information notice and health care consent so
that the gate discloses other registers too, the citizen's user account, and the audit events and sessions
of every request. Run it on a load-test database, not on production.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _

from kanta import audit
from kanta.auth import CitizenBackend
from kanta.models import (
    CareReason,
    OrganisationKind,
    Person,
    Profession,
    Professional,
    RegisterKind,
    Unit,
    User,
)

BENCHMARK_USERNAME = "benchmark-professional"
# A registration number no real professional has (Valvira numbers are digits only).
BENCHMARK_REGISTRATION = "BENCH-0001"
PHARMACIST_USERNAME = "benchmark-pharmacist"
PHARMACIST_REGISTRATION = "BENCH-0002"
# The pages, in the order they are measured: the overview first, so that the disclosure log has reads to show.
PAGES = ("professional:person", "citizen:records", "citizen:disclosure_log")
# For the persons with the most prescriptions; the renewal queue of the units with the most open requests.
PRESCRIPTION_PAGES = ("citizen:prescriptions", "professional:pharmacy_person", "professional:renewals")
PROFESSIONAL_PAGES = {"professional:person", "professional:pharmacy_person", "professional:renewals"}


@dataclass
class Subject:
    person: Person
    documents: int
    unit: Unit


class Command(BaseCommand):
    help = (
        "Measure the server time (median, p95) and query count of the citizen records page, the citizen "
        "disclosure log and the professional person overview for the persons with the most documents, of the "
        "citizen prescriptions page and the pharmacy list for the persons with the most prescriptions, and of "
        "the renewal queue of the units with the most open requests."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--iterations", type=int, default=30, help="Timed requests per page and person.")
        parser.add_argument("--warmup", type=int, default=3, help="Untimed requests first (default 3).")
        parser.add_argument("--persons", type=int, default=3, help="Persons to measure (default 3).")

    def handle(self, *args, iterations: int, warmup: int, persons: int, **options) -> None:
        if iterations < 1 or warmup < 0 or persons < 1:
            raise CommandError(_("--iterations and --persons must be at least 1, --warmup at least 0."))
        subjects = self._subjects(persons)
        prescription_subjects = self._prescription_subjects(persons)
        queues = self._renewal_queues(persons)
        if not subjects and not prescription_subjects:
            raise CommandError(
                _("No person has documents or prescriptions. Seed some first (manage.py seed --help).")
            )
        self._header(subjects, prescription_subjects, iterations=iterations, warmup=warmup)
        professional, device = self._professional()
        runs: list[tuple[str, Client, str]] = []  # (page, signed-in client, URL), in the order measured
        if subjects:
            pages = self._resolving(PAGES, subjects[0].person)
            for subject in subjects:
                self._prepare(subject, professional)
                clients = {
                    "professional": self._professional_client(professional, device, subject.unit),
                    "citizen": self._citizen_client(subject.person),
                }
                for name in pages:
                    client = clients["professional" if name in PROFESSIONAL_PAGES else "citizen"]
                    runs.append((name, client, page_url(name, subject.person)))
        if prescription_subjects:
            pages = self._resolving(PRESCRIPTION_PAGES, prescription_subjects[0])
            pharmacist = self._pharmacist() if "professional:pharmacy_person" in pages else None
            for person in prescription_subjects:
                if "citizen:prescriptions" in pages:
                    runs.append(
                        (
                            "citizen:prescriptions",
                            self._citizen_client(person),
                            page_url("citizen:prescriptions", person),
                        )
                    )
                if pharmacist is not None:
                    pharmacist_, pharmacist_device, pharmacy_unit = pharmacist
                    self._prepare_pharmacy(person, pharmacist_, pharmacy_unit)
                    client = self._professional_client(pharmacist_, pharmacist_device, pharmacy_unit)
                    runs.append(
                        (
                            "professional:pharmacy_person",
                            client,
                            page_url("professional:pharmacy_person", person),
                        )
                    )
            if "professional:renewals" in pages:
                for unit in queues:
                    professional.units.add(unit)
                    client = self._professional_client(professional, device, unit)
                    runs.append(("professional:renewals", client, reverse("professional:renewals")))

        timings: dict[str, list[tuple[float, float, float]]] = {}
        queries: dict[str, set[int]] = {}
        # The test client answers for the host "testserver"; HTTPS settings stay as they are (secure=True).
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            for name, client, url in runs:
                seconds, count = self._measure(client, url, name, iterations=iterations, warmup=warmup)
                timings.setdefault(name, []).extend(seconds)
                queries.setdefault(name, set()).add(count)

        for name in timings:
            samples = sorted(total for total, _sql, _cpu in timings[name])
            sql = [sql for _total, sql, _cpu in timings[name]]
            cpu = [cpu for _total, _sql, cpu in timings[name]]
            counts = sorted(queries[name])
            self.stdout.write(
                _(
                    "%(page)s: median %(median)s ms, p95 %(p95)s ms, %(queries)s queries "
                    "(median SQL statements %(sql)s ms, Django CPU %(cpu)s ms; %(samples)s requests)"
                )
                % {
                    "page": name,
                    "median": f"{statistics.median(samples) * 1000:.1f}",
                    "p95": f"{percentile(samples, 95) * 1000:.1f}",
                    "queries": str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}",
                    "sql": f"{statistics.median(sql) * 1000:.1f}",
                    "cpu": f"{statistics.median(cpu) * 1000:.1f}",
                    "samples": len(samples),
                }
            )

    def _resolving(self, names: tuple[str, ...], person: Person) -> list[str]:
        """The pages whose URL names resolve; a line for each that does not (the page is not built yet)."""
        pages = []
        for name in names:
            try:
                page_url(name, person)
            except NoReverseMatch:
                self.stdout.write(
                    _("%(page)s: skipped, the URL name does not resolve (the page does not exist yet).")
                    % {"page": name}
                )
            else:
                pages.append(name)
        return pages

    # -- the data -------------------------------------------------------------------------------------------

    def _subjects(self, count: int) -> list[Subject]:
        """The persons with the most current documents, each with a health care unit for the professional:
        one of the organisation whose health care register holds most of their documents (the overview then
        shows own-register documents and, with the consent, other registers'), or of any county when none
        of their documents is in a health care register."""
        document = apps.get_model("archive", "Document")
        top = list(
            document.objects.filter(status="current")
            .values("person_id")
            .annotate(documents=Count("id"))
            .order_by("-documents", "person_id")[:count]
        )
        health_units = Unit.objects.filter(
            register_kind=RegisterKind.HEALTH_CARE, organisation__kind=OrganisationKind.COUNTY
        ).order_by("id")
        subjects = []
        for row in top:
            person = Person.objects.get(pk=row["person_id"])
            busiest = (
                document.objects.filter(
                    person=person, status="current", register__kind=RegisterKind.HEALTH_CARE
                )
                .values("register__controller_id")
                .annotate(documents=Count("id"))
                .order_by("-documents", "register__controller_id")
                .values_list("register__controller_id", flat=True)
            )
            unit = None
            for organisation_id in busiest:
                unit = health_units.filter(organisation_id=organisation_id).first()
                if unit is not None:
                    break
            unit = unit or health_units.first()
            if unit is not None:
                subjects.append(Subject(person=person, documents=row["documents"], unit=unit))
        return subjects

    def _header(
        self, subjects: list[Subject], prescription_subjects: list[Person], *, iterations: int, warmup: int
    ) -> None:
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        self.stdout.write(
            _(
                "Database %(name)s: about %(documents)s documents, %(prescriptions)s prescriptions, "
                "%(dispensings)s dispensings. Load average: %(load)s."
            )
            % {
                "name": connection.settings_dict["NAME"],
                "documents": f"{estimated_rows('archive', 'Document'):,}",
                "prescriptions": f"{estimated_rows('prescriptions', 'Prescription'):,}",
                "dispensings": f"{estimated_rows('prescriptions', 'Dispensing'):,}",
                "load": load,
            }
        )
        self.stdout.write(
            _(
                "Persons: %(count)s, with %(documents)s current documents; %(prescribed)s with %(prescriptions)s "
                "prescriptions. %(iterations)s timed requests per page and person after %(warmup)s warm-up "
                "requests."
            )
            % {
                "count": len(subjects),
                "documents": ", ".join(str(s.documents) for s in subjects) or "-",
                "prescribed": len(prescription_subjects),
                "prescriptions": ", ".join(str(p.prescription_count) for p in prescription_subjects) or "-",
                "iterations": iterations,
                "warmup": warmup,
            }
        )
        if settings.DEBUG:
            self.stdout.write(_("DEBUG is on: every query is also kept in memory, so the times are higher."))

    def _prescription_subjects(self, count: int) -> list[Person]:
        """The persons with the most prescriptions, each with `prescription_count` set."""
        prescription = apps.get_model("prescriptions", "Prescription")
        top = list(
            prescription.objects.values("person_id")
            .annotate(prescriptions=Count("id"))
            .order_by("-prescriptions", "person_id")[:count]
        )
        found = Person.objects.in_bulk([row["person_id"] for row in top])
        subjects = []
        for row in top:
            person = found[row["person_id"]]
            person.prescription_count = row["prescriptions"]
            subjects.append(person)
        return subjects

    def _renewal_queues(self, count: int) -> list[Unit]:
        """The units with the most open renewal requests."""
        request = apps.get_model("prescriptions", "RenewalRequest")
        top = (
            request.objects.filter(status="sent")
            .values("unit_id")
            .annotate(requests=Count("id"))
            .order_by("-requests", "unit_id")
            .values_list("unit_id", flat=True)[:count]
        )
        found = Unit.objects.in_bulk(list(top))
        return [found[unit_id] for unit_id in top]

    def _pharmacist(self):
        """The benchmark pharmacist, its TOTP device and the pharmacy unit it works at; None without one."""
        from django_otp.plugins.otp_totp.models import TOTPDevice

        unit = Unit.objects.filter(organisation__kind=OrganisationKind.PHARMACY).order_by("id").first()
        if unit is None:
            self.stdout.write(_("professional:pharmacy_person: skipped, there is no pharmacy."))
            return None
        user, _created = User.objects.get_or_create(
            username=PHARMACIST_USERNAME, defaults={"first_name": "Benchmark", "last_name": "Pharmacist"}
        )
        if user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password"])
        pharmacist, _created = Professional.objects.get_or_create(
            user=user,
            defaults={"registration_number": PHARMACIST_REGISTRATION, "profession": Profession.PHARMACIST},
        )
        pharmacist.units.add(unit)
        device, _created = TOTPDevice.objects.get_or_create(
            user=user, name="benchmark", defaults={"confirmed": True}
        )
        return pharmacist, device, unit

    def _prepare_pharmacy(self, person: Person, pharmacist: Professional, unit: Unit) -> None:
        """What the pharmacy's identity-code search confirms: the customer at the counter."""
        from kanta import services

        actor = audit.Actor(user=pharmacist.user, professional=pharmacist, unit=unit)
        services.care_relationship_confirm(actor=actor, person=person, reason=CareReason.DISPENSING)

    def _professional(self):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        user, _created = User.objects.get_or_create(
            username=BENCHMARK_USERNAME, defaults={"first_name": "Benchmark", "last_name": "Professional"}
        )
        if user.has_usable_password():
            user.set_unusable_password()  # never signs in through the login page
            user.save(update_fields=["password"])
        professional, _created = Professional.objects.get_or_create(
            user=user,
            defaults={"registration_number": BENCHMARK_REGISTRATION, "profession": Profession.PHYSICIAN},
        )
        device, _created = TOTPDevice.objects.get_or_create(
            user=user, name="benchmark", defaults={"confirmed": True}
        )
        return professional, device

    def _prepare(self, subject: Subject, professional: Professional) -> None:
        """The professional's unit, an active care relationship, and the consent to disclose other registers."""
        # The apps above kanta are imported when the benchmark runs, never when kanta is imported.
        from consents import services as consents
        from kanta import services

        professional.units.add(subject.unit)
        actor = audit.Actor(user=professional.user, professional=professional, unit=subject.unit)
        services.care_relationship_confirm(actor=actor, person=subject.person, reason=CareReason.ONGOING)
        citizen = self._citizen_user(subject.person)
        person_actor = audit.Actor(user=citizen)
        consents.notice_acknowledge(actor=person_actor, person=subject.person, acting_person=subject.person)
        consents.consent_give(
            actor=person_actor, person=subject.person, acting_person=subject.person, sector="health_care"
        )

    def _citizen_user(self, person: Person) -> User:
        if person.user_id is None:
            # The same account a first sign-in through the identification page would create.
            CitizenBackend().authenticate(None, identified_identity_code=person.identity_code)
            person.refresh_from_db(fields=["user"])
        return person.user

    # -- the sessions ---------------------------------------------------------------------------------------

    def _professional_client(self, professional: Professional, device, unit: Unit) -> Client:
        from django_otp import DEVICE_ID_SESSION_KEY

        from professional.decorators import UNIT_SESSION_KEY
        from professional.signin import SESSION_FLAG

        # What professional.signin.sign_in and the unit choice leave in the session.
        client = Client()
        client.force_login(professional.user, backend="django.contrib.auth.backends.ModelBackend")
        session = client.session
        session[SESSION_FLAG] = True
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session[UNIT_SESSION_KEY] = unit.pk
        session.save()
        return client

    def _citizen_client(self, person: Person) -> Client:
        from citizen.identification import SESSION_KEY

        # What citizen.identification.sign_in leaves in the session.
        client = Client()
        client.force_login(self._citizen_user(person), backend="kanta.auth.CitizenBackend")
        session = client.session
        session[SESSION_KEY] = str(person.public_id)
        session.save()
        return client

    def _measure(
        self, client: Client, url: str, name: str, *, iterations: int, warmup: int
    ) -> tuple[list[tuple[float, float, float]], int]:
        """(server seconds, of which in SQL statements, CPU seconds of this process) per timed request, and the
        query count. On a busy machine the wall time grows with the competition for the cores; the CPU time
        of the Django side much less, which tells a slow page from a busy machine."""
        for _n in range(warmup):
            self._get(client, url, name)
        with CaptureQueriesContext(connection) as captured:
            self._get(client, url, name)
        # counted now: every later request clears the connection's query log when it starts
        queries = len(captured.captured_queries)
        samples = []
        timer = SqlTimer()
        with connection.execute_wrapper(timer):
            for _n in range(iterations):
                timer.seconds = 0.0
                began, cpu = time.perf_counter(), time.process_time()
                self._get(client, url, name)
                samples.append((time.perf_counter() - began, timer.seconds, time.process_time() - cpu))
        return samples, queries

    def _get(self, client: Client, url: str, name: str) -> None:
        # A request leaves the language it chose active (LocaleMiddleware): the report keeps the command's own.
        with translation.override(translation.get_language()):
            response = client.get(url, secure=True)
        if response.status_code != 200:
            raise CommandError(
                _("%(page)s answered %(status)s, not 200.") % {"page": name, "status": response.status_code}
            )


class SqlTimer:
    """Wall time spent executing SQL statements (commits are not statements and are not included)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - began


def page_url(name: str, person: Person) -> str:
    """The page's URL: the professional's pages of a person name the person, the citizen's are her own."""
    if name in PROFESSIONAL_PAGES and name != "professional:renewals":
        return reverse(name, args=[person.public_id])
    return reverse(name)


def estimated_rows(app_label: str, model_name: str) -> int:
    """The planner's row estimate of a table: counting ten million rows would take longer than the run."""
    model = apps.get_model(app_label, model_name)
    if connection.vendor != "postgresql":
        return model.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table]
        )
        return max(cursor.fetchone()[0], 0)


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted samples."""
    rank = max(1, -(-len(samples) * share // 100))  # ceil without floats
    return samples[int(rank) - 1]
