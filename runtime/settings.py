"""All configuration, read once from the environment (LENTUR_*) by the composition root."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "lentur-development-secret-do-not-use-in-production"


SandboxMode = Literal["strict", "shared", "off"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LENTUR_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    state_dir: Path = Path(".lentur")

    database_url: str | None = None
    # Migrations run as the schema owner; the app itself connects as a role that cannot change `events`.
    migration_database_url: str | None = None
    db_pool_min: int = 2
    db_pool_max: int = 10
    db_statement_timeout_ms: int = 15000
    db_lock_timeout_ms: int = 5000

    temporal_address: str | None = None
    temporal_namespace: str = "default"
    task_queue: str = "lentur-approvals"
    # Workflows a worker keeps in memory between tasks (the SDK's default is 1,000). A cached approval costs
    # about a quarter of a megabyte; one that was evicted is replayed from its short history on its next task
    # (a decision, a timer), which costs a few milliseconds. Requests in flight at once need a cache slot each;
    # long-pending ones do not.
    worker_max_cached_workflows: int = Field(default=300, ge=1)
    # "off": workflow code runs without Temporal's sandbox; "shared": in the sandbox, with every module imported
    # once for all runs; "strict": in the sandbox, imported afresh for every run and refusing non-deterministic
    # calls (what CI runs; see workflows/worker.py `workflow_runner`).
    workflow_sandbox: SandboxMode = "off"
    # The one-machine stack's Temporal dev server: its SQLite pragmas, comma-separated PRAGMA=VALUE, or "none"
    # for SQLite's own (a rollback journal). Write-ahead log with every commit synced: a commit appends to one
    # log and syncs it, and nothing committed is lost on a crash or a power cut (docs/bench/README.md, *Fifth
    # pass*; deploy/infra.py `temporal_sqlite_pragmas`).
    temporal_sqlite_pragmas: str = "journal_mode=wal,synchronous=full"

    # The one-machine stack's state directory, where the API holds the backup fence around each Update it sends
    # (runtime/backup_fence.py); `lentur up` sets it. Unset (a cluster, backed up by PITR): no fence at all.
    backup_fence_dir: Path | None = None

    nats_url: str | None = None
    nats_stream: str = "LENTUR_EVENTS"
    nats_subject_prefix: str = "lentur.events"
    nats_duplicate_window_seconds: int = 3600
    # Copies of the stream kept by a NATS cluster (3 on a three-node cluster; 1 on a single server).
    nats_stream_replicas: int = Field(default=1, ge=1, le=5)
    # An event whose message would be larger (a whole pemda's DirectoryImported) travels as a claim check:
    # the envelope without its payload, which consumers read from the store. Keep it under the server's
    # max_payload (1 MiB by default).
    nats_max_message_bytes: int = Field(default=512 * 1024, ge=4096)

    @property
    def nats_servers(self) -> list[str]:
        """LENTUR_NATS_URL may name several servers of one cluster, separated by commas."""
        return [url.strip() for url in self.require("nats_url").split(",") if url.strip()]

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_base_url: str | None = None

    dev_auth: bool = False
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    # During a key rotation tokens signed with a previous secret stay valid until they expire.
    jwt_previous_secrets: list[SecretStr] = Field(default_factory=list)
    jwt_ttl_seconds: int = 8 * 3600
    jwt_leeway_seconds: int = 30
    # Wraps the per-person data keys. Unset, it falls back to the JWT secret (older stacks sealed that way);
    # production sets its own so the JWT secret can rotate without touching sealed personal data.
    vault_secret: SecretStr | None = None
    # During a vault key rotation: secrets that still unwrap data keys until `lentur keys rewrap` has run.
    vault_previous_secrets: list[SecretStr] = Field(default_factory=list)

    # Production sign-in through OpenID Connect (authorization code + PKCE). With an issuer set the portal
    # signs people in there, in every environment; dev sign-in is offered only without one.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = Field(default=None, description="unset for a public client")
    # The claim carrying the 18-digit NIP; there is no fallback ("preferred_username" only when named here).
    oidc_nip_claim: str = "nip"
    oidc_scopes: str = "openid profile email"
    # Unset: PUBLIC_BASE_URL (else the request's own origin) + /masuk/oidc/callback.
    oidc_redirect_url: str | None = None
    oidc_timeout_seconds: float = 10.0

    # Input limits and write rate per signed-in subject (token bucket; 0 turns the limiter off).
    max_json_body_bytes: int = 256 * 1024
    max_upload_body_bytes: int = 20 * 1024 * 1024
    write_rate_per_minute: int = 120
    write_burst: int = 30

    simulated_now: datetime | None = None
    simulated_anchor: datetime | None = None

    read_your_writes_timeout_seconds: float = 10.0
    # The notifier and letters are not on a write's answer: what reaches them within this window is applied
    # as one batch (a transaction per window, not per write). 0 applies each delivery as it comes.
    projector_following_window_seconds: float = Field(default=0.1, ge=0.0, le=5.0)
    log_level: str = "INFO"

    # notifications: smtp://[user:pass@]host:port (plain), smtp+starttls://… or smtps://… (implicit TLS)
    smtp_url: str | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = 20.0
    mail_from: str = "Lentur <noreply@lentur.invalid>"
    mail_fallback_domain: str | None = Field(
        default=None, description="demo stack only: people without e-mail are addressed as <nip>@this-domain"
    )
    notify_webhook_url: str | None = None
    notify_webhook_secret: SecretStr | None = None
    notify_retry_base_seconds: float = 30.0
    notify_retry_max_seconds: float = 3600.0
    notify_max_attempts: int = 10
    notify_digest_hour: int = Field(default=7, ge=0, le=23, description="local hour the daily digest goes out")
    verify_rate_limit: str = Field(default="30/minute", description="per client IP, for the public /verifikasi page")

    # Audit: the Ed25519 key that signs checkpoints (PEM, or the 32-byte seed in hex/base64; `lentur audit
    # keygen` makes one), public keys an inspector trusts, and how often the projector signs the head.
    audit_signing_key: SecretStr | None = None
    audit_trusted_keys: list[str] = Field(default_factory=list)
    audit_checkpoint_every_events: int = 1000
    audit_checkpoint_interval_seconds: float = 3600.0

    # Personal data: months each purpose's sealed data is kept before its keys are destroyed (UU 27/2022).
    privacy_retention_months: dict[str, int] = Field(
        default_factory=lambda: {"request": 24, "location": 3, "report": 24}
    )
    privacy_retention_check_seconds: float = 6 * 3600.0
    # Observability: Prometheus for the worker and projector on their own port (the API serves /metrics),
    # OpenTelemetry traces to an OTLP/HTTP collector when one is named ("memory" keeps spans for tests).
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    tracing: Literal["off", "otlp", "memory"] = "off"
    otlp_endpoint: str | None = None
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _production_is_strict(self) -> Settings:
        if self.env != "production":
            return self
        problems = []
        if self.dev_auth:
            problems.append("LENTUR_DEV_AUTH must be off in production")
        if self.simulated_now is not None:
            problems.append("a simulated clock (LENTUR_SIMULATED_NOW) is refused in production")
        if self.jwt_secret.get_secret_value() == DEV_JWT_SECRET or len(self.jwt_secret.get_secret_value()) < 32:
            problems.append("LENTUR_JWT_SECRET must be set to a secret of at least 32 characters")
        if self.audit_signing_key is None:
            problems.append("LENTUR_AUDIT_SIGNING_KEY is required in production (make one with `lentur audit keygen`)")
        if any(len(old.get_secret_value()) < 32 for old in self.jwt_previous_secrets):
            problems.append("every LENTUR_JWT_PREVIOUS_SECRETS entry must have at least 32 characters")
        if any(len(old.get_secret_value()) < 32 for old in self.vault_previous_secrets):
            problems.append("every LENTUR_VAULT_PREVIOUS_SECRETS entry must have at least 32 characters")
        vault = self.vault_secret.get_secret_value() if self.vault_secret else ""
        if len(vault) < 32 or vault == self.jwt_secret.get_secret_value():
            problems.append("LENTUR_VAULT_SECRET must be its own secret of at least 32 characters")
        if self.tracing == "memory":
            problems.append("LENTUR_TRACING=memory is for tests only")
        for name in ("database_url", "temporal_address", "nats_url"):
            if not getattr(self, name):
                problems.append(f"LENTUR_{name.upper()} is required in production")
        if self.mail_fallback_domain:
            problems.append("LENTUR_MAIL_FALLBACK_DOMAIN is for the demo stack; production mails real addresses only")
        if self.smtp_url and self.smtp_url.startswith("smtp://") and not _is_loopback_url(self.smtp_url):
            problems.append("LENTUR_SMTP_URL must use smtps:// or smtp+starttls:// for a remote mail server")
        if self.notify_webhook_url and len(_secret(self.notify_webhook_secret)) < 32:
            problems.append("LENTUR_NOTIFY_WEBHOOK_SECRET of at least 32 characters is required with a webhook")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _oidc_is_complete(self) -> Settings:
        if not self.oidc_issuer:
            return self
        problems = []
        issuer = urlsplit(self.oidc_issuer)
        if issuer.scheme not in ("https", "http") or not issuer.hostname or issuer.query or issuer.fragment:
            problems.append("LENTUR_OIDC_ISSUER must be an absolute https:// URL")
        elif issuer.scheme == "http" and (self.env == "production" and not _is_loopback_url(self.oidc_issuer)):
            problems.append("LENTUR_OIDC_ISSUER must use https:// in production")
        if not self.oidc_client_id:
            problems.append("LENTUR_OIDC_CLIENT_ID is required with LENTUR_OIDC_ISSUER")
        if "openid" not in self.oidc_scopes.split():
            problems.append("LENTUR_OIDC_SCOPES must include openid")
        if not self.oidc_nip_claim.strip():
            problems.append("LENTUR_OIDC_NIP_CLAIM must name the claim that carries the NIP")
        if self.oidc_redirect_url and not self.oidc_redirect_url.startswith(("https://", "http://")):
            problems.append("LENTUR_OIDC_REDIRECT_URL must be an absolute URL")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _tracing_has_a_target(self) -> Settings:
        if self.tracing == "otlp" and not self.otlp_endpoint:
            raise ValueError("LENTUR_TRACING=otlp needs LENTUR_OTLP_ENDPOINT")
        return self

    @property
    def vault_key_secret(self) -> str:
        return (self.vault_secret or self.jwt_secret).get_secret_value()

    def require(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise RuntimeError(f"LENTUR_{name.upper()} is not set (start the stack with `lentur up`)")
        return str(value)


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def _is_loopback_url(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("localhost", "127.0.0.1", "::1")
