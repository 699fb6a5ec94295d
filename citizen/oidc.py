"""Strong identification of citizens through an OpenID Connect provider (authorization code flow).

authlib does the protocol: discovery, state, nonce, PKCE, the code exchange and the ID token's signature and
claims. This module configures it from the settings and turns everything that can go wrong into one
exception carrying a message the citizen can read. The result is a validated personal identity code; who that
code belongs to is decided by kanta.auth.CitizenBackend.
"""

from __future__ import annotations

import functools
import logging

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import MismatchingStateError
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from joserfc.errors import JoseError

from kanta import identity_code

logger = logging.getLogger(__name__)

CLIENT_NAME = "citizen"
# Seconds to wait for the provider before telling the citizen it is unavailable.
PROVIDER_TIMEOUT = 10
# Errors the provider, the network or a forged callback can cause; none of them may become a 500.
# (authlib raises RuntimeError for metadata it needs but did not get.)
PROTOCOL_ERRORS = (
    AuthlibBaseError,
    JoseError,
    requests.RequestException,
    ValueError,
    KeyError,
    TypeError,
    RuntimeError,
)


class IdentificationFailed(Exception):
    """Identification did not give a usable identity code; the message is shown to the citizen."""

    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message


def is_configured() -> bool:
    return bool(settings.OIDC_DISCOVERY_URL)


def client() -> DjangoOAuth2App:
    """The OAuth client for the current settings.

    authlib caches the provider's metadata and keys on the client, so the client is built per distinct
    configuration: changed settings (another provider, another client id) get a fresh one.
    """
    return _client_for(
        settings.OIDC_DISCOVERY_URL,
        settings.OIDC_CLIENT_ID,
        settings.OIDC_CLIENT_SECRET,
        settings.OIDC_SCOPE,
    )


@functools.lru_cache(maxsize=8)
def _client_for(discovery_url: str, client_id: str, client_secret: str, scope: str) -> DjangoOAuth2App:
    scopes = scope.split()
    if "openid" not in scopes:
        # Without it there is no ID token and no nonce: it would be plain OAuth, not identification.
        scopes.insert(0, "openid")
    oauth = OAuth()
    return oauth.register(
        name=CLIENT_NAME,
        server_metadata_url=discovery_url,
        client_id=client_id,
        client_secret=client_secret,
        client_kwargs={
            "scope": " ".join(scopes),
            "code_challenge_method": "S256",
            "default_timeout": PROVIDER_TIMEOUT,
        },
    )


def start(request: HttpRequest, *, redirect_uri: str) -> HttpResponse:
    """Redirect to the provider; state, nonce and PKCE verifier wait in the session for the callback."""
    try:
        return client().authorize_redirect(request, redirect_uri, ui_locales=get_language() or "fi")
    except PROTOCOL_ERRORS as error:
        logger.warning("OpenID Connect provider unavailable: %r", error)
        raise IdentificationFailed(
            _("The identification service cannot be reached just now. Please try again in a moment.")
        ) from None


def identify(request: HttpRequest) -> str:
    """Finish the flow started by start(): the identity code of the identified person, validated."""
    app = client()
    try:
        metadata = app.load_server_metadata()
        token = app.authorize_access_token(request, claims_options=_id_token_rules(app, metadata))
    except MismatchingStateError:
        raise IdentificationFailed(
            _("This identification was not started here or it has already been used. Please start again.")
        ) from None
    except PROTOCOL_ERRORS as error:
        # The details are for the operators; the citizen gets no internals to act on.
        logger.warning("OpenID Connect callback refused: %r", error)
        raise IdentificationFailed(_("The identification did not succeed. Please try again.")) from None

    claims = token.get("userinfo")
    if not claims:
        # authlib validates an ID token only when one came back; without one nothing is proven.
        logger.warning("OpenID Connect callback refused: no ID token")
        raise IdentificationFailed(_("The identification did not succeed. Please try again."))

    claim = settings.OIDC_IDENTITY_CODE_CLAIM
    value = claims.get(claim)
    if value is None and metadata.get("userinfo_endpoint"):
        value = _from_userinfo(app, token, subject=claims.get("sub"), claim=claim)
    if not isinstance(value, str) or not value:
        logger.warning("OpenID Connect callback refused: claim %s missing", claim)
        raise IdentificationFailed(
            _("The identification service did not tell us your personal identity code.")
        )
    try:
        return identity_code.parse(value).code
    except ValidationError:
        logger.warning("OpenID Connect callback refused: malformed identity code")
        raise IdentificationFailed(
            _("The identification service gave a personal identity code that is not valid.")
        ) from None


def _id_token_rules(app: DjangoOAuth2App, metadata: dict) -> dict:
    """Claims the ID token must carry; authlib checks the nonce and the signature itself."""
    # A fresh dict each time: authlib pops entries from the options it is given.
    return {
        "iss": {"essential": True, "values": [metadata["issuer"]]},
        "aud": {"essential": True, "values": [app.client_id]},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "nonce": {"essential": True},
    }


def _from_userinfo(app: DjangoOAuth2App, token: dict, *, subject: str | None, claim: str) -> object:
    """Some providers (Suomi.fi among them) release the identity code only at the userinfo endpoint."""
    try:
        userinfo = app.userinfo(token=token)
    except PROTOCOL_ERRORS as error:
        logger.warning("OpenID Connect userinfo failed: %r", error)
        raise IdentificationFailed(_("The identification did not succeed. Please try again.")) from None
    # OIDC Core 5.3.2: userinfo about another subject than the ID token's must not be used.
    if userinfo.get("sub") != subject:
        logger.warning("OpenID Connect userinfo refused: subject differs from the ID token")
        raise IdentificationFailed(_("The identification did not succeed. Please try again."))
    return userinfo.get(claim)
