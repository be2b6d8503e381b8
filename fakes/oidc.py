"""A small OpenID Connect provider for development and tests: the legal-person login outside WeChat.

重庆's real one (the unified government identity with the electronic business licence) is not
reachable here; the web site speaks plain OpenID Connect to whatever OIDC_ISSUER names, so this
provider stands in for it with the same protocol: discovery, the authorisation endpoint (code
flow, PKCE S256 required), the token endpoint (client_secret_basic or client_secret_post), and
the JWKS of a P-256 key (ES256) that signs the ID tokens. Errors are RFC 6749's: a bad client or
redirect URI is shown on the provider's own page (never redirected), everything else goes back
to the client as ?error=...&state=....

The authorisation page asks for a name only (no password: it is a development stand-in) and
makes the subject from it, so the same name is the same person on every login.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlencode

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import ECKey

CODE_TTL_S = 5 * 60
TOKEN_TTL_S = 3600


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    subject: str
    name: str
    issued_at: float
    used: bool = False


@dataclass
class FakeOidcProvider:
    """The provider's state; `issuer` is where it is served (set by whoever serves it)."""

    clients: dict[str, tuple[str, tuple[str, ...]]]  # client_id -> (secret, redirect URI prefixes)
    issuer: str = ""
    clock: Callable[[], float] = time.time
    key: ECKey = field(default_factory=lambda: ECKey.generate_key("P-256", private=True))
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key_id = secrets.token_hex(4)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile"],
        }

    def jwks(self) -> dict[str, Any]:
        public = self.key.as_dict(private=False)
        return {"keys": [{**public, "kid": self.key_id, "use": "sig", "alg": "ES256"}]}

    def subject_for(self, client_id: str, name: str) -> str:
        # Pairwise: the same person has a different subject at each client, as real ones do.
        return hashlib.sha256(f"{client_id}|{name}".encode()).hexdigest()[:32]

    def client_redirect_ok(self, client_id: str, redirect_uri: str) -> bool:
        client = self.clients.get(client_id)
        return client is not None and any(redirect_uri.startswith(p) for p in client[1])

    def issue_code(self, query: dict[str, str], name: str) -> str:
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(
            query["client_id"],
            query["redirect_uri"],
            query["code_challenge"],
            query.get("nonce", ""),
            self.subject_for(query["client_id"], name),
            name,
            self.clock(),
        )
        return code

    def exchange(self, form: dict[str, str], client_id: str, secret: str) -> tuple[int, dict]:
        """The token endpoint's answer: (HTTP status, JSON body)."""
        self.token_requests.append({k: v for k, v in form.items() if k != "code_verifier"})
        client = self.clients.get(client_id)
        if client is None or not secrets.compare_digest(client[0], secret):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        grant = self.grants.get(form.get("code", ""))
        if (
            grant is None
            or grant.used
            or grant.client_id != client_id
            or grant.redirect_uri != form.get("redirect_uri")
            or self.clock() - grant.issued_at > CODE_TTL_S
        ):
            return 400, {"error": "invalid_grant", "error_description": "code invalid or used"}
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if not verifier or digest.rstrip(b"=").decode() != grant.challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        grant.used = True
        now = int(self.clock())
        claims = {
            "iss": self.issuer,
            "sub": grant.subject,
            "aud": client_id,
            "iat": now,
            "exp": now + TOKEN_TTL_S,
            "nonce": grant.nonce,
            "name": grant.name,
        }
        header = {"alg": "ES256", "kid": self.key_id}
        id_token = jwt.encode(header, claims, self.key, algorithms=["ES256"])
        return 200, {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL_S,
            "id_token": id_token,
        }


PROVIDER = web.AppKey("oidc_provider", FakeOidcProvider)
_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font:16px/1.6 sans-serif;margin:0;background:#f3f6fa;color:#1f2933}}
main{{max-width:420px;margin:40px auto;background:#fff;padding:24px;border-radius:12px}}
h1{{font-size:20px;color:#0b4f9c}}label{{display:block;margin:12px 0 4px}}
input{{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border:1px solid #52606d;
border-radius:8px}}button{{margin-top:16px;width:100%;padding:12px;font-size:16px;border:0;
border-radius:8px;background:#0b5cad;color:#fff}}:focus-visible{{outline:3px solid #f0a500}}
</style></head><body><main>{body}</main></body></html>"""


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = _PAGE.format(title=html.escape(title), body=body)
    return web.Response(text=text, content_type="text/html", status=status)


async def _discovery(request: web.Request) -> web.Response:
    return web.json_response(request.app[PROVIDER].discovery())


async def _jwks(request: web.Request) -> web.Response:
    return web.json_response(request.app[PROVIDER].jwks())


def _redirect_error(query: dict[str, str], error: str) -> web.HTTPFound:
    target = {"error": error, "state": query.get("state", "")}
    return web.HTTPFound(f"{query['redirect_uri']}?{urlencode(target)}")


def _checked_query(provider: FakeOidcProvider, query: dict[str, str]) -> web.Response | None:
    """None when the request may proceed; else the error page or redirect RFC 6749 asks for."""
    if not provider.client_redirect_ok(query.get("client_id", ""), query.get("redirect_uri", "")):
        return _page("登录请求无效", "<h1>登录请求无效</h1><p>应用未注册或回调地址不符。</p>", 400)
    if query.get("response_type") != "code":
        raise _redirect_error(query, "unsupported_response_type")
    if "openid" not in query.get("scope", "").split():
        raise _redirect_error(query, "invalid_scope")
    if query.get("code_challenge_method") != "S256" or len(query.get("code_challenge", "")) < 43:
        raise _redirect_error(query, "invalid_request")
    return None


async def _authorize(request: web.Request) -> web.Response:
    provider = request.app[PROVIDER]
    query = dict(request.query)
    if request.method == "POST":
        query = {k: str(v) for k, v in (await request.post()).items()}
    refused = _checked_query(provider, query)
    if refused is not None:
        return refused
    if request.method == "POST":
        if query.get("decision") == "deny":
            raise _redirect_error(query, "access_denied")
        name = query.get("name", "").strip()[:32]
        if name:
            code = provider.issue_code(query, name)
            target = {"code": code, "state": query.get("state", "")}
            raise web.HTTPFound(f"{query['redirect_uri']}?{urlencode(target)}")
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in query.items()
        if k not in ("name", "decision")
    )
    body = (
        "<h1>法人统一身份认证（开发环境模拟）</h1>"
        "<p>此页面代替重庆市统一身份认证与电子营业执照登录，仅用于开发和测试。</p>"
        f'<form method="post">{hidden}<label for="name">法定代表人或经办人姓名</label>'
        '<input id="name" name="name" required autocomplete="name" value="">'
        '<button type="submit" name="decision" value="allow">同意授权并登录</button>'
        '<button type="submit" name="decision" value="deny" formnovalidate '
        'style="background:#52606d">取消</button></form>'
    )
    return _page("统一身份认证", body)


async def _token(request: web.Request) -> web.Response:
    form = {k: str(v) for k, v in (await request.post()).items()}
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Basic "):
        try:
            pair = base64.b64decode(auth[6:]).decode()
            client_id, _, secret = (unquote_plus(part) for part in pair.partition(":"))
        except ValueError:
            client_id = ""
    status, body = request.app[PROVIDER].exchange(form, client_id, secret)
    headers = {"Cache-Control": "no-store"}
    return web.json_response(body, status=status, headers=headers)


def create_fake_oidc_app(provider: FakeOidcProvider) -> web.Application:
    app = web.Application()
    app[PROVIDER] = provider
    app.router.add_get("/.well-known/openid-configuration", _discovery)
    app.router.add_get("/jwks", _jwks)
    app.router.add_route("GET", "/authorize", _authorize)
    app.router.add_route("POST", "/authorize", _authorize)
    app.router.add_post("/token", _token)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m fakes.oidc")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--client", default="yucredit-web:dev-secret:http://127.0.0.1:8080/")
    args = parser.parse_args()
    client_id, secret, prefix = args.client.split(":", 2)
    provider = FakeOidcProvider({client_id: (secret, (prefix,))})
    provider.issuer = f"http://127.0.0.1:{args.port}"
    web.run_app(create_fake_oidc_app(provider), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
