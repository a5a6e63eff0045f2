"""The relying-party side of OpenID Connect for the Flask example, on Authlib's building blocks.

Each step of a login is a function over plain data: discovery, the signed authorization request
(JAR, RFC 9101), the callback's checks, the code exchange and the ID token's verification. The
Flask routes in ``app.py`` call them in order and keep the transaction in the session.

Authlib 1.2 (Debian 12's ``python3-authlib``) does the JOSE work: HS256 request objects,
EdDSA / ES256 / RS256 signature checks and the OpenID claims checks of ``CodeIDToken``. Where it
falls short this module adds the missing check and says why (``iat`` in the future, ``at_hash``
for EdDSA, the form-encoding of Basic credentials). HTTP goes through the standard library:
Authlib's ``OAuth2Session`` needs ``requests``, which Debian does not install with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Mapping

from authlib.jose import JsonWebKey, JsonWebSignature, JsonWebToken
from authlib.jose.errors import JoseError
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken

#: Algorithms an ID token may be signed with: the provider's asymmetric ones. Never ``none``,
#: never HMAC (a client must not accept tokens signed with a key it shares).
ID_TOKEN_ALGS = ("EdDSA", "ES256", "RS256")
#: How long a request object lives; the provider accepts at most 300 s.
REQUEST_OBJECT_LIFETIME = 60
#: How long a login may take from /login to /callback (the provider's codes live 10 minutes).
TRANSACTION_LIFETIME = 600
#: Clock skew tolerated when checking ID token times, in seconds.
CLOCK_TOLERANCE = 30
#: A JWKS is refetched for an unknown ``kid`` at most this often, in seconds.
JWKS_REFETCH_COOLDOWN = 30
HTTP_TIMEOUT = 10
MAX_RESPONSE_BYTES = 1 << 20
SCOPE = "openid profile email"

_CODE = re.compile(r"[A-Za-z0-9_-]{10,512}")
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")
_KEY_TYPES = {"EdDSA": ("OKP", "Ed25519"), "ES256": ("EC", "P-256"), "RS256": ("RSA", None)}


class LoginError(Exception):
    """A login step that failed.

    ``reason`` is stable and safe to log; ``message`` and ``hint`` are for the user; ``error``,
    ``error_description`` and ``error_uri`` are the provider's, when it sent an error. None of them
    ever holds a code, token, state, nonce or verifier.
    """

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        status: int = 400,
        hint: str | None = None,
        error: str | None = None,
        error_description: str | None = None,
        error_uri: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status
        self.hint = hint
        self.error = error
        self.error_description = error_description
        self.error_uri = error_uri

    @property
    def loggable_error(self) -> str | None:
        """The provider's error code, if it looks like one (it is attacker-controlled text)."""
        if self.error is None:
            return None
        return self.error if _ERROR_CODE.fullmatch(self.error) else "unrecognised"


# --- HTTP ---------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The provider's endpoints answer directly; a redirect is an error, never followed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _http(
    url: str, *, data: bytes | None = None, headers: Mapping[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=data,
        headers={"Accept": "application/json", **(headers or {})},
        method="POST" if data is not None else "GET",
    )
    try:
        with _opener.open(request, timeout=HTTP_TIMEOUT) as response:
            return response.status, response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read(MAX_RESPONSE_BYTES)
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise LoginError(
            "provider_unreachable",
            "The identity provider could not be reached.",
            status=502,
            hint=f"{urllib.parse.urlsplit(url).netloc}: {reason}",
        ) from None


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# --- Discovery ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderMetadata:
    """What the app uses from the provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None
    #: RFC 9207: the provider always sends ``iss`` with its authorization responses.
    iss_parameter_supported: bool


def discover(issuer: str) -> ProviderMetadata:
    """Fetches ``{issuer}/.well-known/openid-configuration`` (OpenID Connect Discovery 1.0 §4).

    The document's ``issuer`` must be exactly the configured one (§4.3), or everything it says
    could be another provider's. Raises LoginError ``discovery_failed``.
    """
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    status, body = _http(url)
    meta = _json_object(body) if status == 200 else None
    if meta is None:
        raise LoginError(
            "discovery_failed", f"{url} did not answer with a JSON document (HTTP {status})."
        )
    if meta.get("issuer") != issuer:
        raise LoginError(
            "discovery_failed",
            f"The discovery document names the issuer {meta.get('issuer')!r}, not {issuer!r}.",
            hint="Set GATEHOUSE_ISSUER to the provider's issuer, exactly (scheme, host, port).",
        )
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = meta.get(name)
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise LoginError("discovery_failed", f"The discovery document has no usable {name}.")
        endpoints[name] = value
    end_session = meta.get("end_session_endpoint")
    return ProviderMetadata(
        issuer=issuer,
        end_session_endpoint=end_session if isinstance(end_session, str) else None,
        iss_parameter_supported=meta.get("authorization_response_iss_parameter_supported") is True,
        **endpoints,
    )


# --- Keys ---------------------------------------------------------------------------------------


@dataclass
class Jwks:
    """The provider's signing keys, cached; refetched when a token names an unknown ``kid``."""

    uri: str
    _keys: list[dict[str, Any]] = field(default_factory=list)
    _fetched_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load_key(self, header: Mapping[str, Any], _payload: Any = None):
        """Authlib's key callback: the key for this header's ``kid`` and ``alg``, or LoginError."""
        alg = header.get("alg")
        if alg not in ID_TOKEN_ALGS:
            # Authlib refuses these too (the JsonWebToken's allow-list); say it clearly.
            raise LoginError(
                "id_token_invalid", f"The ID token is signed with {alg!r}, which is not allowed."
            )
        with self._lock:
            key = self._find(header)
            now = time.monotonic()
            stale = self._fetched_at is None or now - self._fetched_at >= JWKS_REFETCH_COOLDOWN
            if key is None and stale:
                self._refresh()
                key = self._find(header)
        if key is None:
            raise LoginError(
                "id_token_invalid", "No key of the provider matches the ID token's signature."
            )
        return JsonWebKey.import_key(key)

    def _refresh(self) -> None:
        status, body = _http(self.uri)
        document = _json_object(body) if status == 200 else None
        keys = document.get("keys") if document else None
        if not isinstance(keys, list):
            raise LoginError(
                "jwks_failed",
                "The identity provider's keys could not be loaded.",
                status=502,
                hint=f"{self.uri} answered HTTP {status}",
            )
        self._keys = [k for k in keys if isinstance(k, dict)]
        self._fetched_at = time.monotonic()

    def _find(self, header: Mapping[str, Any]) -> dict[str, Any] | None:
        alg = header["alg"]
        kty, crv = _KEY_TYPES[alg]
        kid = header.get("kid")
        usable = [
            k
            for k in self._keys
            if k.get("kty") == kty
            and (crv is None or k.get("crv") == crv)
            and k.get("use", "sig") == "sig"
            and k.get("alg", alg) == alg
            and "d" not in k
        ]
        if kid is not None:
            usable = [k for k in usable if k.get("kid") == kid]
        # Without a kid, only an unambiguous key will do.
        return usable[0] if len(usable) == 1 else None


# --- The authorization request ------------------------------------------------------------------

# A JWS rather than Authlib's JsonWebToken, whose encode() forces the header's typ to "JWT";
# RFC 9101 §10.8 recommends typ "oauth-authz-req+jwt".
_request_object_jws = JsonWebSignature(["HS256"])


@dataclass(frozen=True)
class LoginStart:
    """Where to send the browser, and the transaction to keep until the callback."""

    authorization_url: str
    transaction: dict[str, Any]


def start_login(
    provider: ProviderMetadata,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    return_to: str,
    prompt: str | None = None,
) -> LoginStart:
    """Builds the authorization request: fresh ``state``, ``nonce`` and PKCE S256 verifier, all
    signed into a request object (HS256 with the client secret, RFC 9101). The URL carries only
    ``client_id`` and ``request``: the provider reads nothing else.
    """
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)
    now = int(time.time())
    params: dict[str, Any] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": SCOPE,
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    if prompt is not None:
        params["prompt"] = prompt
    claims = {
        **params,
        "iss": client_id,
        "aud": provider.issuer,
        "iat": now,
        "exp": now + REQUEST_OBJECT_LIFETIME,
        "jti": secrets.token_urlsafe(16),
    }
    request_object = _request_object_jws.serialize_compact(
        {"alg": "HS256", "typ": "oauth-authz-req+jwt"},
        json.dumps(claims, separators=(",", ":")).encode("utf-8"),
        client_secret.encode("utf-8"),
    ).decode("ascii")
    query = urllib.parse.urlencode({"client_id": client_id, "request": request_object})
    separator = "&" if "?" in provider.authorization_endpoint else "?"
    return LoginStart(
        authorization_url=f"{provider.authorization_endpoint}{separator}{query}",
        transaction={
            "state": state,
            "nonce": nonce,
            "code_verifier": verifier,
            "issuer": provider.issuer,
            "redirect_uri": redirect_uri,
            "return_to": return_to,
            "created_at": now,
        },
    )


# --- The callback -------------------------------------------------------------------------------


def take_transaction(
    args: Mapping[str, list[str]], pending: list[dict[str, Any]]
) -> dict[str, Any]:
    """Steps 1 and 2 of the callback: the query is well formed, and its ``state`` is the one of a
    login this browser started. The matching transaction is removed from ``pending`` (one-time
    use); the caller stores ``pending`` back before doing anything else.

    ``args`` maps each parameter to all its values (Werkzeug's ``MultiDict.to_dict(flat=False)``).
    """
    for name, values in args.items():
        if len(values) > 1:
            shown = name if re.fullmatch(r"[a-z_]{1,32}", name) else "a parameter"
            raise LoginError(
                "callback_duplicate_parameter",
                f"The sign-in response carries {shown} more than once.",
                hint="A response with repeated parameters is ambiguous; it was not used.",
            )
    if "code" in args and "error" in args:
        raise LoginError(
            "callback_code_and_error",
            "The sign-in response carries both a code and an error.",
        )
    state = (args.get("state") or [None])[0]
    if not state:
        raise LoginError(
            "state_missing",
            "The sign-in response has no state parameter.",
            hint="Without it the response cannot be matched to a sign-in started here.",
        )
    now = int(time.time())
    live = [t for t in pending if now - int(t.get("created_at", 0)) <= TRANSACTION_LIFETIME]
    if not live:
        raise LoginError(
            "transaction_not_found",
            "No sign-in was waiting in this browser.",
            hint="It expired, or the session cookie was lost: a different browser, a different "
            "address of this site (localhost vs 127.0.0.1), or cookies blocked.",
        )
    # Compare with every waiting state, in constant time, without stopping at a match.
    match = None
    for transaction in live:
        if hmac.compare_digest(transaction["state"].encode(), state.encode()):
            match = transaction
    if match is None:
        raise LoginError(
            "state_mismatch",
            "The state parameter does not match the sign-in started in this browser.",
            hint="This is what a cross-site request forgery (CSRF) looks like; nothing was used.",
        )
    pending.remove(match)
    return match


def check_response(
    args: Mapping[str, list[str]], transaction: Mapping[str, Any], provider: ProviderMetadata
) -> str:
    """Steps 3 to 5: the response comes from our issuer (RFC 9207), is not an error, and carries
    a well-formed code, which it returns. An error response raises LoginError ``provider_error``.
    """
    one = {name: values[0] for name, values in args.items()}
    iss = one.get("iss")
    if iss is None and provider.iss_parameter_supported:
        raise LoginError(
            "issuer_missing",
            "The sign-in response does not say which identity provider sent it (no iss).",
        )
    if iss is not None and iss != transaction["issuer"]:
        raise LoginError(
            "issuer_mismatch",
            "The sign-in response comes from another identity provider than the one asked.",
            hint="This is what a mix-up attack looks like (RFC 9207); nothing was used.",
        )
    if "error" in one:
        raise LoginError(
            "provider_error",
            "The identity provider did not sign you in.",
            error=one["error"],
            error_description=one.get("error_description"),
            error_uri=one.get("error_uri"),
        )
    code = one.get("code")
    if code is None:
        raise LoginError("code_missing", "The sign-in response carries no authorization code.")
    if not _CODE.fullmatch(code):
        raise LoginError("code_malformed", "The authorization code is not well formed.")
    return code


def exchange_code(
    provider: ProviderMetadata,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    transaction: Mapping[str, Any],
) -> dict[str, Any]:
    """Step 6 and 7: the code for tokens, authenticated with ``client_secret_basic`` and the PKCE
    verifier; never retried (a code is single use). Returns the checked token response.
    """
    body = urllib.parse.urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": transaction["redirect_uri"],
            "code_verifier": transaction["code_verifier"],
        }
    ).encode("ascii")
    # RFC 6749 §2.3.1: id and secret are form-encoded before Base64 (Authlib 1.2 skips that).
    credentials = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(client_secret)}"
    status, raw = _http(
        provider.token_endpoint,
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode("ascii"),
        },
    )
    document = _json_object(raw)
    if status != 200:
        error = document.get("error") if document else None
        description = document.get("error_description") if document else None
        raise LoginError(
            "token_error",
            "The identity provider refused to complete the sign-in."
            if error != "invalid_grant"
            else "This sign-in was already used or has expired.",
            status=400 if error == "invalid_grant" else 502,
            error=error if isinstance(error, str) else f"HTTP {status}",
            error_description=description if isinstance(description, str) else None,
        )
    if document is None:
        raise LoginError("token_response_invalid", "The token response is not JSON.", status=502)
    token_type = document.get("token_type")
    expires_in = document.get("expires_in")
    problems = [
        name
        for name, ok in (
            ("access_token", isinstance(document.get("access_token"), str)),
            ("id_token", isinstance(document.get("id_token"), str)),
            ("token_type", isinstance(token_type, str) and token_type.lower() == "bearer"),
            (
                "expires_in",
                expires_in is None
                or (isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool)),
            ),
        )
        if not ok
    ]
    if problems:
        raise LoginError(
            "token_response_invalid",
            f"The token response's {', '.join(problems)} is missing or malformed.",
            status=502,
        )
    return document


_id_token_jwt = JsonWebToken(list(ID_TOKEN_ALGS))


def verify_id_token(
    id_token: str,
    *,
    jwks: Jwks,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str,
) -> dict[str, Any]:
    """Step 8: the ID token's signature (against the provider's JWKS, asymmetric algorithms only),
    ``iss``, ``aud``/``azp``, ``exp``, ``iat``, ``nonce`` and ``at_hash``. Returns its claims.
    """
    try:
        claims = _id_token_jwt.decode(
            id_token,
            key=jwks.load_key,
            claims_cls=CodeIDToken,
            claims_options={
                "iss": {"essential": True, "value": issuer},
                "aud": {"essential": True, "value": client_id},
                "sub": {"essential": True},
                "nonce": {"essential": True},
            },
            # Not the access token: Authlib 1.2 cannot hash for EdDSA and would reject every
            # at_hash; it is checked below.
            claims_params={"nonce": nonce, "client_id": client_id},
        )
        claims.validate(leeway=CLOCK_TOLERANCE)
    except JoseError as err:
        raise LoginError(
            "id_token_invalid",
            f"The ID token is not valid ({err.error}).",
            status=502,
            hint=err.description or None,
        ) from None
    except ValueError as err:  # a key Authlib cannot import
        raise LoginError(
            "id_token_invalid", f"The ID token cannot be verified ({err}).", status=502
        ) from None
    now = time.time()
    # Authlib 1.2 checks only that iat is a number.
    if not isinstance(claims.get("iat"), (int, float)) or claims["iat"] > now + CLOCK_TOLERANCE:
        raise LoginError("id_token_invalid", "The ID token's iat is in the future.", status=502)
    # Authlib compared it already; this comparison is constant-time.
    if not hmac.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):
        raise LoginError("id_token_invalid", "The ID token's nonce is not ours.", status=502)
    at_hash = claims.get("at_hash")
    if at_hash is not None and not hmac.compare_digest(
        str(at_hash).encode(), _half_hash(claims.header["alg"], access_token).encode()
    ):
        raise LoginError(
            "id_token_invalid",
            "The ID token's at_hash does not match the access token.",
            status=502,
        )
    return dict(claims)


def _half_hash(alg: str, value: str) -> str:
    """OIDC ``at_hash``: the left half of the hash of the token; SHA-512 for EdDSA (Ed25519)."""
    digest = hashlib.new("sha512" if alg == "EdDSA" else "sha256", value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def end_session_url(
    provider: ProviderMetadata,
    *,
    id_token: str | None,
    post_logout_redirect_uri: str,
    client_id: str,
) -> str | None:
    """RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2), when the provider has it."""
    if provider.end_session_endpoint is None:
        return None
    params = {"client_id": client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
    if id_token:
        params["id_token_hint"] = id_token
    separator = "&" if "?" in provider.end_session_endpoint else "?"
    return f"{provider.end_session_endpoint}{separator}{urllib.parse.urlencode(params)}"
