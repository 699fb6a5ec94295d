"""Finnish and Swedish are complete: every translatable string in the code has a translation."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
LANGUAGES = ["fi", "sv"]
SOURCE_DIRS = [
    "kanta",
    "citizen",
    "professional",
    "archive",
    "consents",
    "prescriptions",
    "templates",
    "locale",
]


@pytest.fixture(scope="module")
def fresh_catalogues(tmp_path_factory) -> Path:
    """The catalogues as makemessages would make them from today's code, in a scratch copy of the project."""
    copy = tmp_path_factory.mktemp("project")
    shutil.copy(PROJECT_DIR / "manage.py", copy)
    for name in SOURCE_DIRS:
        if (PROJECT_DIR / name).exists():
            shutil.copytree(
                PROJECT_DIR / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo")
            )
    for language in LANGUAGES:
        subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", "makemessages", "-l", language, "--no-obsolete"],
            cwd=copy,
            check=True,
            capture_output=True,
            env={"DEBUG": "1", "TEST_IDENTIFICATION": "1", "PATH": "/usr/bin:/bin"},
        )
    return copy


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated(fresh_catalogues, language):
    po = fresh_catalogues / "locale" / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(  # noqa: S603
        ["msgfmt", "--statistics", "--check-format", "-o", "/dev/null", str(po)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr and "untranslated" not in result.stderr, (
        f"{language}: {result.stderr.strip()} – run makemessages and translate"
    )
    assert int(re.match(r"(\d+) translated", result.stderr).group(1)) > 0


def test_catalogues_in_the_repository_are_current(fresh_catalogues):
    """The committed .po files hold every msgid the code uses (makemessages was run before committing)."""
    for language in LANGUAGES:
        committed = (PROJECT_DIR / "locale" / language / "LC_MESSAGES" / "django.po").read_text()
        fresh = (fresh_catalogues / "locale" / language / "LC_MESSAGES" / "django.po").read_text()
        msgids = set(re.findall(r'^msgid "(.+)"$', fresh, flags=re.MULTILINE))
        missing = sorted(m for m in msgids if f'msgid "{m}"' not in committed)
        assert not missing, f"{language}: not in the committed catalogue: {missing[:10]}"
