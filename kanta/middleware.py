"""Project middleware."""

from __future__ import annotations


class NoStoreMiddleware:
    """Pages that show personal data must not be kept in shared or browser caches (ASVS 8.2.1)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
