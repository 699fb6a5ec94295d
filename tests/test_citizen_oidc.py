"""Identification through OpenID Connect, against a small but real provider served from a thread."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import override_settings
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from kanta.models import AuditEvent, AuditOutcome
from tests.factories import PersonFactory, temporary_identity_code

CLIENT_ID = "kanta-mykanta"
CLIENT_SECRET = "fake-provider-client-secret"
CLAIM = "urn:oid:1.2.246.21"
CALLBACK = "http://testserver/login/oidc/callback/"


def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "provider-key", "use": "sig", "alg": "RS256"})


class FakeProvider:
    """Discovery, keys, token and userinfo endpoints; the test plays the user at the authorize step."""

    def __init__(self) -> None:
        self.key = rsa_key()
        self.signing_key = self.key
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.provider = self
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }

    def authorize(self, query: dict, *, identity_code: str | None, **id_token_changes) -> str:
        """The citizen identifies at the provider; returns the code the provider sends back."""
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "code_challenge": query["code_challenge"],
            "identity_code": identity_code,
            "claims": {
                "iss": self.issuer,
                "aud": CLIENT_ID,
                "sub": f"subject-{identity_code}",
                "nonce": query["nonce"],
                **id_token_changes,
            },
        }
        return code

    def token(self, form: dict, authorization: str) -> tuple[int, dict]:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)  # a code is good for one exchange only
        if grant is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["code_challenge"] or form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        now = int(time.time())
        claims = {"iat": now, "exp": now + 300, **grant["claims"]}
        if grant["identity_code"] is not None and not grant.get("userinfo_only"):
            claims[CLAIM] = grant["identity_code"]
        claims = {k: v for k, v in claims.items() if v is not None}
        access_token = secrets.token_urlsafe(16)
        self.access_tokens[access_token] = grant
        id_token = jwt.encode({"alg": "RS256", "kid": self.signing_key.kid}, claims, self.signing_key)
        return 200, {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }

    def userinfo(self, authorization: str) -> tuple[int, dict]:
        grant = self.access_tokens.get(authorization.removeprefix("Bearer "))
        if grant is None:
            return 401, {"error": "invalid_token"}
        return 200, {"sub": grant.get("userinfo_sub", grant["claims"]["sub"]), CLAIM: grant["identity_code"]}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        provider: FakeProvider = self.server.provider
        path = urlsplit(self.path).path
        if path == "/.well-known/openid-configuration":
            self._reply(200, provider.metadata())
        elif path == "/jwks":
            self._reply(200, KeySet([provider.key]).as_dict(private=False))
        elif path == "/userinfo":
            self._reply(*provider.userinfo(self.headers.get("Authorization", "")))
        else:
            self._reply(404, {"error": "not_found"})

    def do_POST(self):
        provider: FakeProvider = self.server.provider
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        if urlsplit(self.path).path == "/token":
            self._reply(*provider.token(form, self.headers.get("Authorization", "")))
        else:
            self._reply(404, {"error": "not_found"})

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # keep the test output clean
        pass


@pytest.fixture(autouse=True)
def english(client):
    """The assertions read the English texts; the site's default language is Finnish."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def provider():
    fake = FakeProvider()
    fake.thread.start()
    with override_settings(
        OIDC_DISCOVERY_URL=fake.discovery_url,
        OIDC_CLIENT_ID=CLIENT_ID,
        OIDC_CLIENT_SECRET=CLIENT_SECRET,
        OIDC_SCOPE="openid profile",
        OIDC_IDENTITY_CODE_CLAIM=CLAIM,
    ):
        yield fake
    fake.server.shutdown()
    fake.server.server_close()


def start(client, **params) -> dict:
    """GET /login/oidc/ and return the parameters of the authorize redirect."""
    response = client.get("/login/oidc/", params)
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def greeting(client) -> str:
    return client.get("/").content.decode()


@pytest.mark.django_db
def test_start_redirects_to_the_provider_with_state_nonce_and_pkce(client, provider):
    response = client.get("/login/oidc/")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{provider.issuer}/authorize"
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == [CALLBACK]
    assert "openid" in query["scope"][0].split()
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 20
    assert len(query["nonce"][0]) >= 20
    assert query["ui_locales"] == ["en"]  # the provider speaks the citizen's language


@pytest.mark.django_db
def test_wrong_state_is_refused(client, provider):
    person = PersonFactory()
    query = start(client)
    code = provider.authorize(query, identity_code=person.identity_code)

    response = client.get("/login/oidc/callback/", {"code": code, "state": "forged-state"})

    assert response.status_code == 400
    assert "This identification was not started here" in response.content.decode()
    assert person.first_names not in greeting(client)


@pytest.mark.django_db
def test_callback_without_a_started_identification_is_refused(client, provider):
    response = client.get("/login/oidc/callback/", {"code": "anything", "state": "anything"})

    assert response.status_code == 400
    assert "citizen" not in client.session


@pytest.mark.django_db
def test_id_token_with_a_wrong_nonce_is_refused(client, provider):
    person = PersonFactory()
    query = start(client)
    code = provider.authorize(query, identity_code=person.identity_code, nonce="nonce-of-another-login")

    response = client.get("/login/oidc/callback/", {"code": code, "state": query["state"]})

    assert response.status_code == 400
    assert "The identification did not succeed" in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert person.first_names not in greeting(client)


@pytest.mark.django_db
def test_id_token_signed_with_another_key_is_refused(client, provider):
    person = PersonFactory()
    provider.signing_key = rsa_key()  # same key id, different key: a forged signature
    query = start(client)
    code = provider.authorize(query, identity_code=person.identity_code)

    response = client.get("/login/oidc/callback/", {"code": code, "state": query["state"]})

    assert response.status_code == 400
    assert "citizen" not in client.session


@pytest.mark.django_db
def test_id_token_for_another_client_is_refused(client, provider):
    person = PersonFactory()
    query = start(client)
    code = provider.authorize(query, identity_code=person.identity_code, aud="some-other-service")

    response = client.get("/login/oidc/callback/", {"code": code, "state": query["state"]})

    assert response.status_code == 400
    assert "citizen" not in client.session


@pytest.mark.django_db
def test_identity_code_of_no_known_person_is_refused(client, provider):
    query = start(client)
    code = provider.authorize(query, identity_code=temporary_identity_code())

    response = client.get("/login/oidc/callback/", {"code": code, "state": query["state"]})

    assert response.status_code == 400
    assert "Kanta has no information about a person with this personal identity code." in (
        response.content.decode()
    )
    assert "citizen" not in client.session
    assert AuditEvent.objects.get(action="citizen.login").outcome == AuditOutcome.REFUSED


@pytest.mark.django_db
def test_id_token_without_the_identity_code_claim_is_refused(client, provider):
    query = start(client)
    code = provider.authorize(query, identity_code=None)

    response = client.get("/login/oidc/callback/", {"code": code, "state": query["state"]})

    assert response.status_code == 400
    assert "did not tell us your personal identity code" in response.content.decode()


@pytest.mark.django_db
def test_provider_error_such_as_a_cancelled_identification_is_a_clear_page(client, provider):
    query = start(client)

    response = client.get("/login/oidc/callback/", {"error": "access_denied", "state": query["state"]})

    assert response.status_code == 400
    assert "The identification did not succeed" in response.content.decode()


@pytest.mark.django_db
def test_identified_person_is_logged_in(client, provider):
    person = PersonFactory(first_names="Linnea", last_name="Lindqvist")
    PersonFactory(first_names="Toinen")
    query = start(client, next="/me/language/")
    code = provider.authorize(query, identity_code=person.identity_code)

    response = client.get("/login/oidc/callback/", {"code": code, "state": query["state"]})

    assert response.status_code == 302
    assert response["Location"] == "/me/language/"
    assert client.session["citizen"] == str(person.public_id)
    assert "Hello, Linnea" in greeting(client)
    event = AuditEvent.objects.get(action="citizen.login")
    assert (event.person, event.outcome) == (person, AuditOutcome.ALLOWED)


@pytest.mark.django_db
def test_a_used_state_cannot_be_replayed(client, provider):
    person = PersonFactory()
    query = start(client)
    code = provider.authorize(query, identity_code=person.identity_code)
    assert client.get("/login/oidc/callback/", {"code": code, "state": query["state"]}).status_code == 302
    client.post("/logout/")

    response = client.get("/login/oidc/callback/", {"code": code, "state": query["state"]})

    assert response.status_code == 400
    assert "citizen" not in client.session


@pytest.mark.django_db
def test_identity_code_released_only_at_userinfo_is_used(client, provider):
    person = PersonFactory(first_names="Eino")
    query = start(client)
    code = provider.authorize(query, identity_code=person.identity_code)
    provider.codes[code]["userinfo_only"] = True

    response = client.get("/login/oidc/callback/", {"code": code, "state": query["state"]})

    assert response.status_code == 302
    assert "Hello, Eino" in greeting(client)


@pytest.mark.django_db
def test_userinfo_about_another_subject_is_refused(client, provider):
    person = PersonFactory()
    query = start(client)
    code = provider.authorize(query, identity_code=person.identity_code)
    provider.codes[code].update(userinfo_only=True, userinfo_sub="somebody-else")

    response = client.get("/login/oidc/callback/", {"code": code, "state": query["state"]})

    assert response.status_code == 400
    assert "citizen" not in client.session


@pytest.mark.django_db
def test_unreachable_provider_gives_a_clear_page(client):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with override_settings(OIDC_DISCOVERY_URL=f"http://127.0.0.1:{port}/.well-known/openid-configuration"):
        response = client.get("/login/oidc/")

    assert response.status_code == 503
    assert "cannot be reached" in response.content.decode()


# -- the login chooser --------------------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(OIDC_DISCOVERY_URL="", TEST_IDENTIFICATION=True)
def test_without_a_provider_there_is_no_identify_button_and_no_oidc_pages(client):
    page = client.get("/login/").content.decode()

    assert "Identify yourself" not in page
    assert 'href="/login/test/"' in page
    assert client.get("/login/oidc/").status_code == 404
    assert client.get("/login/oidc/callback/").status_code == 404


@pytest.mark.django_db
def test_login_page_offers_identification_and_test_persons(client, provider):
    with override_settings(TEST_IDENTIFICATION=True):
        page = client.get("/login/").content.decode()
    assert 'href="/login/oidc/"' in page
    assert "Identify yourself" in page
    assert 'href="/login/test/"' in page

    with override_settings(TEST_IDENTIFICATION=False):
        page = client.get("/login/").content.decode()
    assert "Identify yourself" in page
    assert 'href="/login/test/"' not in page
