"""Typed settings, read from the environment once by run.py and passed down.

Nothing reads the environment at import time: tests build ``Settings(...)`` directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = ROOT / "var"

# Field names that hold secrets: `run.py check` redacts them.
SECRET_FIELDS = frozenset(
    {
        "wechat_secret",
        "wechat_token",
        "wechat_aes_key",
        "mp_secret",
        "id_hash_key",
        "ops_token",
        "report_signing_key",
        "link_signing_key",
        "phone_encryption_key",
        "oidc_client_secret",
    }
)


class SettingsError(ValueError):
    """A setting in the environment has a value of the wrong type."""


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite://{VAR_DIR / 'yucredit.db'}"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redis behind Sentinel: the sentinels ("host:port,host:port") and the master's service
    # name. When set they replace REDIS_URL's host (its database number still applies).
    redis_sentinels: str = ""
    redis_service: str = "yucredit"
    public_base_url: str = "http://127.0.0.1:8080"
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    # Official Account (公众号) and mini-program (小程序) credentials.
    wechat_api_base: str = "http://127.0.0.1:8081"
    wechat_app_id: str = "wx_dev_official_account"
    wechat_secret: str = ""
    wechat_token: str = ""
    wechat_aes_key: str = ""
    mp_app_id: str = "wx_dev_miniprogram"
    mp_secret: str = ""
    # Key of the HMAC that stores ID numbers as keyed hashes only.
    id_hash_key: str = ""
    ops_token: str = ""
    # Ed25519 seed (base64) that signs report snapshots; HMAC key for download links.
    report_signing_key: str = ""
    link_signing_key: str = ""
    # Where issued PDFs and cards are kept (a local directory behind the storage interface).
    reports_dir: Path = field(default=VAR_DIR / "reports")
    # Which store holds them (infra/storage.py): `fs` (reports_dir, this machine's disk) or
    # `postgres` (the database, reached by every node). Empty: `postgres` when DATABASE_URL is
    # PostgreSQL, else `fs`.
    storage: str = ""
    pdf_engine: str = "typst"
    # The named, versioned rule set that decides what a report includes (config/rule_sets.py).
    report_rule_set: str = "cq-2024-89"
    # The channels this deployment serves (models.enums.Channel values, comma-separated): the
    # report's notes send enterprises only to these.
    channels: str = "web,miniprogram,bot,hall"
    # The platform's sealing certificate and key (PEM); a development CA is made here if absent.
    pki_dir: Path = field(default=VAR_DIR / "pki")
    # The RFC 3161 time-stamping authority for the seal's timestamps (PAdES B-T and B-LTA). Empty:
    # the development TSA under pki_dir, in-process (also served at /verify/pki/tsa).
    tsa_url: str = ""
    # How long a download link works, in seconds.
    link_ttl_s: int = 3600
    # Years that chinesecalendar does not cover fall back to these overrides.
    holiday_overrides_path: Path = field(default=ROOT / "config" / "holiday_overrides.json")
    # Objections (异议): where their images are kept, and their due dates in working
    # days (accept; resolve; resolve a credit repair), counted with config/calendar.py.
    objection_files_dir: Path = field(default=VAR_DIR / "objections")
    objection_accept_days: int = 2
    objection_resolve_days: int = 5
    objection_repair_days: int = 10
    # Mini-program API: agents' phone numbers are encrypted with this Fernet key (derived from
    # ID_HASH_KEY when unset); browser origins allowed by CORS (comma-separated); session TTL;
    # rate limits per minute, per user and per client IP.
    phone_encryption_key: str = ""
    cors_origins: str = ""
    mp_session_ttl_s: int = 2 * 60 * 60
    mp_rate_per_user: int = 120
    mp_rate_per_ip: int = 600
    # WeChat bot plumbing (公众号 webhook, sender, notifier). Template ids are those
    # configured in the OA / mini-program back office; empty means "not configured".
    # OA template message: the fallback outside the 48-hour window, and objection notices.
    wechat_notice_template_id: str = ""
    # Mini-program subscribe message for objection progress (needs a SubscriptionGrant).
    mp_notice_template_id: str = ""
    # Customer-service messages we allow ourselves per user between two of their messages.
    wechat_cs_quota: int = 5
    # Which template keyword carries which field of an objection notice ("keyword=field,...";
    # the fields: ticket_no, status, time, note). They must match the templates chosen.
    wechat_notice_template_fields: str = (
        "keyword1=ticket_no,keyword2=status,keyword3=time,remark=note"
    )
    mp_notice_template_fields: str = (
        "character_string1=ticket_no,phrase2=status,time3=time,thing4=note"
    )

    # The enterprise web channel (/web): 1 serves it, 0 leaves it out. Its two logins: WeChat
    # web authorisation inside WeChat (the authorise page is on open.weixin.qq.com in
    # production, WECHAT_OPEN_BASE), and an OpenID Connect provider for legal persons outside it
    # (the development provider of fakes/oidc.py by default; see docs/web.md).
    web_enabled: int = 1
    web_session_ttl_s: int = 30 * 60
    wechat_open_base: str = "http://127.0.0.1:8081"
    oidc_issuer: str = "http://127.0.0.1:8082"
    oidc_client_id: str = "yucredit-web"
    oidc_client_secret: str = ""
    oidc_provider_label: str = "法人统一身份认证（开发环境模拟）"

    def __post_init__(self) -> None:
        if self.storage not in ("", "fs", "postgres"):
            raise SettingsError(f"STORAGE must be fs or postgres, got {self.storage!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables named like the fields, upper-cased."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, f.type, raw)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def redis_target(self) -> str:
        """What every Redis client connects to: REDIS_URL, or the Sentinel-managed master."""
        if not self.redis_sentinels:
            return self.redis_url
        db = urlsplit(self.redis_url).path.strip("/") or "0"
        hosts = ",".join(h.strip() for h in self.redis_sentinels.split(",") if h.strip())
        return f"redis+sentinel://{hosts}/{self.redis_service}/{db}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite://")

    def redacted(self) -> dict[str, str]:
        """Every setting as text, secrets replaced by a marker that says whether one is set."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS:
                out[f.name] = "<set>" if value else "<unset>"
            elif f.name.endswith("_url"):
                out[f.name] = redact_url(str(value))
            else:
                out[f.name] = str(value)
        return out


def served_channels(settings: Settings) -> tuple[str, ...]:
    """The channels this deployment serves, in the order configured (Channel values); the web
    site counts only while it is switched on (WEB_ENABLED)."""
    configured = (c.strip() for c in settings.channels.split(","))
    return tuple(c for c in configured if c and (c != "web" or settings.web_enabled))


def redact_url(url: str) -> str:
    """Hide the password in a connection URL."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _coerce(name: str, annotation: object, raw: str) -> object:
    kind = str(annotation)
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{name.upper()} must be an integer, got {raw!r}") from None
    if kind == "Path":
        return Path(raw)
    return raw
