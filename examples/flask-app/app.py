"""A Flask app that signs in with Gatehouse, as a confidential ``web`` client, using Authlib.

Run it with Debian's Python, which has the Debian packages ``python3-flask`` and
``python3-authlib`` (see README.md)::

    GATEHOUSE_CLIENT_ID=flask-app GATEHOUSE_CLIENT_SECRET=... /usr/bin/python3 app.py

Routes: ``/`` (home), ``/login``, ``/callback``, ``/profile`` (signed-in users only) and
``POST /logout``. The OpenID Connect steps are in ``oidc.py``; this file is configuration, the
session, the pages and the authentication events.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sys
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from flask import Flask, redirect, render_template, request, session, url_for
from werkzeug.serving import WSGIRequestHandler

import oidc

#: Logins waiting for their callback in one browser (several tabs may sign in at once).
MAX_PENDING_LOGINS = 3
PROMPTS = ("login", "consent")
#: Printable ASCII only, one leading slash, no backslash.
_LOCAL_PATH = re.compile(r"/(?![/\\])[!-\[\]-~]*")

log = logging.getLogger("gatehouse.flask_example")


# --- Configuration ------------------------------------------------------------------------------


class ConfigError(Exception):
    """A setting that is missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    issuer: str
    client_id: str
    client_secret: str
    base_url: str
    host: str
    port: int
    secret_key: str
    #: False when FLASK_SECRET_KEY was not set: a random key, sessions end with the process.
    secret_key_given: bool


def _url(name: str, value: str) -> str:
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"{name} must be an http(s) URL without query or fragment: {value!r}")
    return value


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """Reads the settings; raises ConfigError naming the variable at fault."""
    port_text = env.get("PORT", "5000")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"PORT must be a port number, not {port_text!r}")
    port = int(port_text)
    issuer = _url("GATEHOUSE_ISSUER", env.get("GATEHOUSE_ISSUER", "http://localhost:9000"))
    base_url = _url("APP_BASE_URL", env.get("APP_BASE_URL", f"http://localhost:{port}")).rstrip(
        "/"
    )
    client_id = env.get("GATEHOUSE_CLIENT_ID", "")
    if not client_id:
        raise ConfigError("GATEHOUSE_CLIENT_ID is required: the client_id of a `web` client")
    client_secret = env.get("GATEHOUSE_CLIENT_SECRET", "")
    if len(client_secret) < 32:
        raise ConfigError(
            "GATEHOUSE_CLIENT_SECRET is required (at least 32 characters): the client's secret, "
            "which also signs its request objects (HS256)"
        )
    secret_key = env.get("FLASK_SECRET_KEY", "")
    if secret_key and len(secret_key) < 32:
        raise ConfigError("FLASK_SECRET_KEY must be at least 32 characters")
    return Settings(
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        base_url=base_url,
        host=env.get("HOST", "127.0.0.1"),
        port=port,
        secret_key=secret_key or secrets.token_urlsafe(32),
        secret_key_given=bool(secret_key),
    )


# --- Authentication events ----------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z0-9_.:/@+-]+")


def log_event(event: str, **fields: Any) -> None:
    """One structured line per authentication event (logfmt). Callers pass no code, token, state,
    nonce, verifier or secret: only what an operator needs (a reason, an error code, a sub)."""
    parts = [f"event={event}"]
    for name, value in fields.items():
        if value is None:
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        parts.append(f"{name}={text if _PLAIN.fullmatch(text) else json.dumps(text)}")
    log.info(" ".join(parts))


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's access log without query strings: the callback's carries a code and a state."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        path = urllib.parse.urlsplit(self.path).path
        self.log("info", '"%s %s" %s %s', self.command, path, getattr(code, "value", code), size)


# --- The app ------------------------------------------------------------------------------------


def create_app(settings: Settings, provider: oidc.ProviderMetadata) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="flask_example_session",
        SESSION_COOKIE_HTTPONLY=True,
        # Lax: sent on the top-level redirect back from the provider, not on cross-site POSTs
        # (which is what protects POST /logout from other sites).
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
    )
    jwks = oidc.Jwks(provider.jwks_uri)
    redirect_uri = f"{settings.base_url}/callback"
    home_url = f"{settings.base_url}/"
    issuer_origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(provider.issuer))
    csp = (
        "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'; "
        f"form-action 'self' {issuer_origin}"
    )

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        # The callback's URL holds a code: never let it leave in a Referer.
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def current_user():
        return {"user": session.get("user")}

    @app.get("/")
    def home():
        return render_template("home.html")

    @app.get("/login")
    def login():
        return_to = _local_path(request.args.get("next")) or "/profile"
        prompt = request.args.get("prompt")
        started = oidc.start_login(
            provider,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            redirect_uri=redirect_uri,
            return_to=return_to,
            prompt=prompt if prompt in PROMPTS else None,
        )
        now = int(time.time())
        pending = [
            t
            for t in session.get("pending_logins", [])
            if now - int(t.get("created_at", 0)) <= oidc.TRANSACTION_LIFETIME
        ]
        session["pending_logins"] = [*pending, started.transaction][-MAX_PENDING_LOGINS:]
        log_event("login_started", prompt=prompt if prompt in PROMPTS else None)
        return redirect(started.authorization_url)

    @app.get("/callback")
    def callback():
        args = request.args.to_dict(flat=False)
        log_event("callback_received", code="code" in args, error="error" in args)
        try:
            pending = list(session.get("pending_logins", []))
            try:
                transaction = oidc.take_transaction(args, pending)
            finally:
                # One-time use: the state is spent whatever happens next.
                session["pending_logins"] = pending
            code = oidc.check_response(args, transaction, provider)
            tokens = oidc.exchange_code(
                provider,
                client_id=settings.client_id,
                client_secret=settings.client_secret,
                code=code,
                transaction=transaction,
            )
            claims = oidc.verify_id_token(
                tokens["id_token"],
                jwks=jwks,
                issuer=provider.issuer,
                client_id=settings.client_id,
                nonce=transaction["nonce"],
                access_token=tokens["access_token"],
            )
        except oidc.LoginError as err:
            log_event("login_failed", reason=err.reason, error=err.loggable_error)
            return _error_page(err, issuer_origin)
        # A new session for the signed-in user: nothing from before the login carries over but
        # the logins other tabs of this browser started and have not finished yet.
        session.clear()
        if pending:
            session["pending_logins"] = pending
        session["user"] = claims
        # Kept for the logout's id_token_hint. The cookie is signed, not encrypted: it holds
        # nothing the user may not see, and no access token.
        session["id_token"] = tokens["id_token"]
        log_event("login_succeeded", sub=claims["sub"])
        return redirect(transaction["return_to"])

    @app.get("/profile")
    def profile():
        user = session.get("user")
        if user is None:
            return redirect(url_for("login", next="/profile"))
        rows = [(name, _show(name, value)) for name, value in sorted(user.items())]
        return render_template("profile.html", rows=rows)

    @app.post("/logout")
    def logout():
        user = session.get("user") or {}
        id_token = session.get("id_token")
        session.clear()
        log_event("logout", sub=user.get("sub"))
        target = oidc.end_session_url(
            provider,
            id_token=id_token,
            post_logout_redirect_uri=home_url,
            client_id=settings.client_id,
        )
        return redirect(target or "/", code=303)

    @app.errorhandler(404)
    def not_found(_err):
        return render_template("message.html", title="Page not found"), 404

    @app.errorhandler(405)
    def not_allowed(_err):
        return render_template("message.html", title="Method not allowed"), 405

    @app.errorhandler(500)
    def server_error(_err):
        return render_template("message.html", title="Something went wrong"), 500

    return app


def _local_path(value: str | None) -> str | None:
    """A path on this site, or None: never another origin (``//host``, ``/\\host``, or one a
    browser would make of it by dropping tabs and newlines)."""
    if value and _LOCAL_PATH.fullmatch(value):
        return value
    return None


def _show(name: str, value: Any) -> str:
    if name in ("exp", "iat", "auth_time", "nbf", "updated_at") and isinstance(value, int):
        when = datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{value} ({when})"
    return value if isinstance(value, str) else json.dumps(value)


def _error_page(err: oidc.LoginError, issuer_origin: str):
    error_uri = err.error_uri
    # A link only to the provider's own pages; anything else is shown as text.
    linkable = error_uri is not None and error_uri.startswith(f"{issuer_origin}/")
    cancelled = err.reason == "provider_error" and err.error == "access_denied"
    title = _ERROR_TITLES.get(err.reason, "Sign-in failed")
    page = render_template(
        "error.html",
        err=err,
        title="Sign-in was cancelled" if cancelled else title,
        cancelled=cancelled,
        error_link=error_uri if linkable else None,
    )
    return page, err.status


_ERROR_TITLES = {
    "state_missing": "This sign-in response was not started here",
    "state_mismatch": "This sign-in response was not started here",
    "transaction_not_found": "Your sign-in expired or could not be matched to this browser",
    "callback_duplicate_parameter": "The sign-in response is malformed",
    "callback_code_and_error": "The sign-in response is malformed",
    "code_missing": "The sign-in response is malformed",
    "code_malformed": "The sign-in response is malformed",
    "issuer_missing": "The sign-in response came from an unexpected identity provider",
    "issuer_mismatch": "The sign-in response came from an unexpected identity provider",
    "provider_error": "The identity provider did not sign you in",
    "token_error": "The sign-in could not be completed",
    "token_response_invalid": "The identity provider's answer could not be verified",
    "id_token_invalid": "The identity provider's answer could not be verified",
    "provider_unreachable": "The identity provider could not be reached",
    "jwks_failed": "The identity provider could not be reached",
}


def _configure_logging() -> None:
    # A no-op when the host (a WSGI server) configured logging already.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )


def wsgi_app() -> Flask:
    """The app for a WSGI server, from the environment: ``gunicorn 'app:wsgi_app()'``.
    Raises ConfigError or oidc.LoginError (discovery) when it cannot start."""
    _configure_logging()
    settings = settings_from_env(os.environ)
    if not settings.secret_key_given:
        raise ConfigError("FLASK_SECRET_KEY is required under a WSGI server: its workers share it")
    return create_app(settings, oidc.discover(settings.issuer))


def main() -> int:
    _configure_logging()
    try:
        settings = settings_from_env(os.environ)
        provider = oidc.discover(settings.issuer)
    except ConfigError as err:
        print(f"flask-app: {err}", file=sys.stderr)
        return 1
    except oidc.LoginError as err:
        hint = f" ({err.hint})" if err.hint else ""
        print(
            f"flask-app: discovery at {settings.issuer} failed: {err.message}{hint}",
            file=sys.stderr,
        )
        return 1
    if not settings.secret_key_given:
        log.warning("FLASK_SECRET_KEY is not set: a random key is used; sessions end on restart")
    app = create_app(settings, provider)
    log.info(
        "signing in with %s as %s at %s/", settings.issuer, settings.client_id, settings.base_url
    )
    app.run(host=settings.host, port=settings.port, request_handler=QuietRequestHandler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
