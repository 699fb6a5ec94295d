"""Production configuration: `check --deploy` is clean and the security headers are on by default."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def production_env(**extra: str) -> dict[str, str]:
    """The environment a production deployment sets; nothing from the test run leaks in."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(PROJECT_DIR)),
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "kanta.example.fi",
        "OIDC_DISCOVERY_URL": "https://idp.example.fi/.well-known/openid-configuration",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kanta"),
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_environment():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_stops_start_up_in_production():
    env = production_env()
    del env["SECRET_KEY"]
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_without_identity_provider_stops_start_up():
    env = production_env()
    del env["OIDC_DISCOVERY_URL"]
    result = run(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "OIDC_DISCOVERY_URL" in result.stderr


PROBE = """
import django, json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kanta.settings")
django.setup()
from django.conf import settings
from django.test import Client
plain = Client(HTTP_HOST="kanta.example.fi").get("/")
secure = Client(HTTP_HOST="kanta.example.fi").get("/", secure=True)
print(json.dumps({
    "plain_status": plain.status_code,
    "plain_location": plain.headers.get("Location", ""),
    "hsts": secure.headers.get("Strict-Transport-Security", ""),
    "csp": secure.headers.get("Content-Security-Policy", ""),
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
}))
"""


def test_production_redirects_to_https_and_sends_hsts_and_strict_csp():
    result = run(["-c", PROBE], production_env(STATIC_MANIFEST="0"))
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts["plain_status"] == 301
    assert facts["plain_location"].startswith("https://")
    assert "max-age=63072000" in facts["hsts"]
    assert "includeSubDomains" in facts["hsts"]
    assert "script-src 'self'" in facts["csp"]
    assert "unsafe-inline" not in facts["csp"]
    assert facts["session_cookie_secure"] is True
    assert facts["csrf_cookie_secure"] is True


def test_pages_carry_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
