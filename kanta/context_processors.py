"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings


def identity(request) -> dict:
    """Who is signed in, as the page header shows it (no queries beyond the session's own)."""
    user = getattr(request, "user", None)
    return {
        "test_identification": settings.TEST_IDENTIFICATION,
        "signed_in_as_citizen": bool(user and user.is_authenticated and request.session.get("citizen")),
        "signed_in_as_professional": bool(
            user and user.is_authenticated and request.session.get("professional")
        ),
    }
