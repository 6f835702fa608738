"""The one settings object: environment variables (prefix PBX_) and an optional .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PBX_", env_file=".env", extra="ignore")

    # Where private PostgreSQL/Redis instances, Kamailio's generated config, media and
    # logs live when the installation runs everything on one machine.
    data_dir: Path = Path("var")

    # External services; when unset, `pbx run` starts private instances under data_dir.
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    private_pg_port: int = 55432
    private_redis_port: int = 56379

    # Companies get SIP domains "<slug>.<sip_domain>".
    sip_domain: str = "pbx.local"

    # Kamailio (the SIP edge): where phones register.
    kamailio_bin: str = "/usr/sbin/kamailio"
    edge_host: str = "127.0.0.1"
    edge_port: int = 5060
    edge_advertise: str | None = None  # public address for Record-Route/Contact, if NATed
    edge_children: int = 4
    # Set False when Kamailio is run by something else (docker-compose, systemd).
    edge_supervise: bool = True
    # Anti-flood: requests per pike window (2 s) from one IP before it is banned.
    pike_reqs_density: int = 64
    ban_seconds: int = 300

    # The engine (sippy B2BUA): one SIP socket for Kamailio and carriers.
    engine_enabled: bool = True
    engine_host: str = "127.0.0.1"
    engine_port: int = 5070
    engine_advertise: str | None = None
    # Other engine nodes behind Kamailio's dispatcher: "host:port,host:port".
    engine_nodes: str = ""
    # The engine's SIP port admits only the edge, the trunks' carriers and peers it has
    # sent to; a carrier address past this many datagrams a second is dropped too.
    engine_source_filter: bool = True
    engine_source_rate: float = 200.0
    rtp_port_min: int = 20000
    rtp_port_max: int = 29999
    no_answer_timeout: float = 30.0
    sip_log: bool = False

    # HTTP API (status, later webhooks).
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # How users reach the HTTP service (download links); default http://http_host:http_port.
    public_url: str | None = None
    # The plan catalogue offered: a preset (seed000, seed001, seed002) or a YAML path;
    # validated at start-up.
    catalogue: str = "seed000"
    # Where a company signing up in the bot starts: "" the catalogue's default plan,
    # a plan id, or "none" (outside billing: nothing limited or charged).
    signup_plan: str = ""
    link_secret: str | None = None  # signs download links; derived from telegram_token when unset
    # Proves a request between the SIP edge and an engine node came from the other one
    # (a header both check); read from the database (migration 0010) when unset.
    edge_secret: str | None = None
    # Carriers on loopback addresses: only for tests and benchmarks on one machine.
    trunk_allow_loopback: bool = False

    telegram_token: str | None = None
    # A self-hosted Bot API server (the tests' fake one too); Telegram's cloud if unset.
    telegram_api_base: str | None = None
    # Webhook mode when set (public URL of /telegram/webhook); long polling otherwise.
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None

    log_level: str = "INFO"
    log_json: bool = False

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def redis_dir(self) -> Path:
        return self.data_dir / "redis"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def dsn(self) -> str:
        return self.database_url or (f"postgresql://pbx@127.0.0.1:{self.private_pg_port}/pbx")

    @property
    def redis_dsn(self) -> str:
        return self.redis_url or f"redis://127.0.0.1:{self.private_redis_port}/0"

    def engine_addresses(self) -> list[tuple[str, int]]:
        """Every engine node Kamailio dispatches to and trusts (this one first)."""
        nodes = [(self.engine_advertise or self.engine_host, self.engine_port)]
        for item in filter(None, (p.strip() for p in self.engine_nodes.split(","))):
            host, _, port = item.rpartition(":")
            nodes.append((host, int(port)))
        return nodes

    # Edge (added with the Kamailio edge): failed digest checks (wrong password, unknown
    # user) from one IP, with less than ban_seconds between them, before it is banned.
    auth_fail_limit: int = 10
    # Failed logins on one account (from any addresses) within the ban time after which
    # every address that fails on it again is banned at once: guessing spread over many
    # addresses. The right password always works.
    account_fail_limit: int = 20

    # Notifications (missed calls, voicemail): the outbox worker and its channels.
    # E-mail is on when smtp_host is set; smtp_starttls None = STARTTLS if offered.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "PBX <pbx@localhost>"
    smtp_starttls: bool | None = None
    smtp_tls: bool = False  # implicit TLS (port 465)
    smtp_timeout: float = 30.0
    # SMS is on when the gateway URL is set: a template with {to} {text} {sender},
    # URL-encoded; a POST sends sms_gateway_body (same placeholders) as a form if set.
    sms_gateway_url: str | None = None
    sms_gateway_method: str = "GET"
    sms_gateway_body: str | None = None
    sms_sender: str = "PBX"
    outbox_enabled: bool = True
    outbox_max_attempts: int = 12
    outbox_poll_seconds: float = 5.0
    outbox_lease_seconds: float = 120.0

    # Audio (greetings, IVR prompts, music on hold): uploads the bot accepts (Telegram
    # lets bots download at most 20 MB), their length, and each company's total.
    audio_max_upload_bytes: int = 20 * 1024 * 1024
    audio_max_seconds: int = 120  # greetings, IVR prompts, messages
    audio_max_seconds_music: int = 600  # music on hold, ringback melodies
    audio_min_ms: int = 300
    audio_company_quota_bytes: int = 200 * 1024 * 1024
    audio_ffmpeg_timeout: float = 60.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
