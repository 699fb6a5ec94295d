"""The foundation's journeys in real Chromium: citizen identification, language, accessibility."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.factories import PersonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_citizen_logs_in_through_test_identification_switches_to_swedish_and_sees_her_name(page):
    PersonFactory(first_names="Linnea", last_name="Lindqvist", preferred_language="sv")

    page.goto("/")
    page.locator("main a[href='/login/']").first.click()
    page.locator("a[href='/login/test/']").first.click()
    page.get_by_role("button", name="Lindqvist", exact=False).first.click()
    expect(page.locator("main")).to_contain_text("Linnea")

    page.get_by_role("button", name="Svenska").click()
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.locator("main")).to_contain_text("Linnea")
    expect(page.get_by_role("button", name="Logga ut")).to_be_visible()


@pytest.mark.parametrize("path", ["/", "/login/", "/login/test/", "/professional/login/"])
def test_front_pages_have_no_serious_accessibility_violations(page, accessibility_violations, path):
    PersonFactory()
    page.goto(path)
    assert accessibility_violations(page) == []


def test_signed_in_front_page_has_no_serious_accessibility_violations(page, accessibility_violations):
    PersonFactory(first_names="Aino", last_name="Aaltonen")
    page.goto("/login/test/")
    page.get_by_role("button", name="Aaltonen", exact=False).first.click()
    expect(page.locator("main")).to_contain_text("Aino")
    assert accessibility_violations(page) == []
