"""Service settings, read from environment variables prefixed ``BENZO_CDS_`` (see README)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ALL_RULES = (
    "opioid-benzodiazepine-overlap",
    "taper-plan",
    "off-ramp",
    "geriatric-risk",
    "cbti-referral",
)

RuleMode = Literal["active", "silent", "off"]
# active: evaluated and shown; silent: evaluated, counted and logged, never shown (before
# go-live); off: not evaluated.
RULE_MODES: tuple[RuleMode, ...] = ("active", "silent", "off")

# A development-only key; production start-up refuses it (see Settings.production_problems).
DEV_HASH_KEY = "benzo-cds-development-key-not-for-production"
# HMAC-SHA256 keys shorter than the 32-byte hash are weaker than the hash (RFC 2104, section 3).
MIN_HASH_KEY_LENGTH = 32


class TrustedIssuer(BaseModel):
    """A CDS Client allowed to call us (CDS Hooks 2.0 "Trusting CDS Clients")."""

    iss: str
    jwks_url: str | None = None
    jwks_file: str | None = None
    # jku header values honoured for this issuer; a jku not listed here is refused.
    jku_allowlist: list[str] = Field(default_factory=list)
    # FHIR server base URLs this issuer may hand us; the access token goes nowhere else.
    fhir_servers: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needs_keys(self) -> TrustedIssuer:
        if not (self.jwks_url or self.jwks_file or self.jku_allowlist):
            raise ValueError(
                f"trusted issuer {self.iss!r} needs jwks_url, jwks_file or jku_allowlist"
            )
        return self


def _split_list(value: Any) -> Any:
    """Accept a JSON list or a comma-separated string from the environment."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


CommaList = Annotated[list[str], NoDecode]


def _read_issuers_file(path: Path) -> list[TrustedIssuer]:
    """The issuers in BENZO_CDS_TRUSTED_ISSUERS_FILE; a ValueError says what is wrong with it."""
    where = f"BENZO_CDS_TRUSTED_ISSUERS_FILE {path}"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{where} does not exist") from None
    except OSError as error:
        raise ValueError(f"{where} cannot be read ({error.strerror or error})") from None
    except ValueError as error:
        raise ValueError(f"{where} is not JSON ({error})") from None
    if not isinstance(raw, list):
        raise ValueError(f"{where} must hold a JSON list of issuers")
    issuers = []
    for index, item in enumerate(raw):
        try:
            issuers.append(TrustedIssuer.model_validate(item))
        except ValidationError as error:
            text = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'issuer'}: "
                f"{str(e['msg']).removeprefix('Value error, ')}"
                for e in error.errors()
            )
            raise ValueError(f"{where}, issuer {index + 1}: {text}") from None
    return issuers


class Settings(BaseSettings):
    """All tunables: clinical thresholds, limits, security and storage."""

    model_config = SettingsConfigDict(
        env_prefix="BENZO_CDS_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    environment: Literal["development", "production"] = "development"
    # The service's public base URL (scheme://host[:port][/prefix]); JWT `aud` is checked
    # against it. Unset: derived from the request (fine in development, not behind a proxy).
    public_base_url: str | None = None

    # --- clinical thresholds (each cited where it is used in app/cards/) ---
    evaluation_date: date | None = None  # fixed clock for reproducible runs; None = today (UTC)
    geriatric_age: int = 65  # AGS Beers 2023 applies from 65
    adult_age: int = 18  # CDC 2022 guideline scope
    long_term_days: int = 28  # ASAM 2025 Table 2 (>= 1 month); STOPP D5 (>= 4 weeks)
    review_interval_days: int = 90  # ASAM 2025 rec. 1: reassess at least every 3 months
    new_order_max_days: int = 28  # ASAM 2025: limit to 2-4 weeks
    follow_up_days: int = 28  # taper follow-up within 4 weeks
    mme_critical: float = 50.0  # CDC 2022 rec. 8 naloxone risk threshold
    cns_active_count_escalation: int = 3  # Beers 2023 Table 5: >= 3 CNS-active drugs
    active_order_max_age_days: int = 730  # CDC Common "authoredOn within 2 years"
    # Orders of one ingredient whose supply periods follow with gaps of at most this many days
    # are one episode of continuous use (30-day grace period between benzodiazepine fills:
    # Bushnell et al., JAMA Psychiatry 2017;74(7):747-755, PMC5710248).
    renewal_gap_days: int = 30
    enabled_rules: CommaList = Field(default_factory=lambda: list(ALL_RULES))
    # Per-rule mode, e.g. {"geriatric-risk": "silent"}; a rule named here ignores enabled_rules,
    # a rule not named is active when in enabled_rules and off otherwise (see rule_mode).
    rule_modes: dict[str, RuleMode] = Field(default_factory=dict)

    # --- FHIR gathering and limits ---
    fhir_timeout_seconds: float = 5.0
    call_time_budget_seconds: float = 8.0
    fhir_max_pages: int = 10
    max_resources_per_call: int = 10_000
    max_body_bytes: int = 10 * 1024 * 1024
    # FHIR servers any caller may name when JWT verification is off (development).
    # Empty in development = allow all (with a warning); production requires a list.
    allowed_fhir_servers: CommaList = Field(default_factory=list)

    # --- client authentication ---
    jwt_required: bool | None = None  # None: required in production, off in development
    trusted_issuers: list[TrustedIssuer] = Field(default_factory=list)
    trusted_issuers_file: Path | None = None
    jwt_leeway_seconds: int = 30
    jwt_max_lifetime_seconds: int = 3600
    jwks_cache_seconds: float = 600.0  # keys from a jwks_url or jku are reused this long
    # A token whose kid no key holds re-reads its JWKS (file, URL or jku) at most this often.
    jwks_refresh_interval_seconds: float = 30.0
    cors_origins: CommaList = Field(default_factory=lambda: ["*"])

    # --- storage, snooze, logging ---
    database_url: str = "sqlite+aiosqlite:///./benzo_cds.db"
    # Per worker process: replicas x workers x (pool + overflow) must fit the server's
    # max_connections (README "Deployment").
    database_pool_size: int = Field(default=5, ge=1)
    database_max_overflow: int = Field(default=5, ge=0)
    # The driver's connect and statement timeout, and the pool wait; feedback and /health give
    # up one second after it.
    database_timeout_seconds: float = Field(default=2.0, gt=0)
    # While the database is down, one call per interval tries it again; the rest skip it.
    database_retry_seconds: float = Field(default=1.0, gt=0)
    patient_hash_key: SecretStr = SecretStr(DEV_HASH_KEY)
    snooze_days: int = 90  # CDC opioid CDS override reasons snooze 3 months
    # Override reason codes that snooze a card besides the cards' own "snooze-3-months";
    # any other override (and a bare dismissal) is recorded but snoozes nothing.
    snooze_reasons: CommaList = Field(default_factory=list)
    # Longest wait for the snooze lookup on a hook call; past it the card is shown.
    snooze_lookup_timeout_seconds: float = Field(default=0.5, gt=0)
    # Issued and silent cards are queued after the answer and written together this many ms
    # after the first one queued (one INSERT for many calls); feedback flushes first.
    card_write_delay_ms: float = Field(default=20.0, ge=0, le=1000)
    log_level: str = "INFO"
    log_json: bool = True
    preview_enabled: bool | None = None  # /preview page; None = on in development only
    api_docs_enabled: bool | None = None  # /docs, /redoc, /openapi.json; None = development only
    # /metrics: with a token, callers must send it as a bearer token; with a port, it is served
    # there (on metrics_host) and not on the service port; with neither, development only.
    metrics_token: SecretStr | None = None
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    # Accept development mode on a non-loopback address (`benzo-cds serve --host 0.0.0.0`).
    demo: bool = False
    # Read hook bodies with the typed decoder (msgspec) when they fit it; off: always the
    # lenient reader (both give the same answer; the typed one is faster).
    typed_decode: bool = True
    # Validate every suggested resource as its fhir.resources R4B model (~0.1-1 ms each)
    # instead of checking only the values copied from the EHR (app/cards/fhir_values.py).
    full_suggestion_validation: bool = False
    # Young-generation GC threshold (CPython default 700); 0 keeps the interpreter's default.
    gc_threshold: int = 10_000

    _split = field_validator(
        "enabled_rules", "allowed_fhir_servers", "cors_origins", "snooze_reasons", mode="before"
    )(_split_list)

    @model_validator(mode="after")
    def _load_issuers_file(self) -> Settings:
        if self.trusted_issuers_file is not None:
            self.trusted_issuers = _read_issuers_file(Path(self.trusted_issuers_file))
        unknown = set(self.enabled_rules) - set(ALL_RULES)
        if unknown:
            raise ValueError(f"unknown rules in enabled_rules: {sorted(unknown)}")
        unknown = set(self.rule_modes) - set(ALL_RULES)
        if unknown:
            raise ValueError(f"unknown rules in rule_modes: {sorted(unknown)}")
        return self

    def rule_mode(self, rule_id: str) -> RuleMode:
        """The rule's mode: rule_modes first, else active when in enabled_rules, else off."""
        if rule_id in self.rule_modes:
            return self.rule_modes[rule_id]
        return "active" if rule_id in self.enabled_rules else "off"

    @property
    def verify_jwt(self) -> bool:
        if self.jwt_required is None:
            return self.environment == "production"
        return self.jwt_required

    def today(self) -> date:
        return self.evaluation_date or datetime.now(UTC).date()

    def production_problems(self) -> list[str]:
        """Why this configuration is unsafe for production: one line each, naming the variable."""
        problems = []
        if not self.verify_jwt:
            problems.append(
                "BENZO_CDS_JWT_REQUIRED is false: production verifies the CDS "
                "Client's JWT on every call"
            )
        if not self.trusted_issuers:
            problems.append(
                "no trusted issuers: set BENZO_CDS_TRUSTED_ISSUERS or "
                "BENZO_CDS_TRUSTED_ISSUERS_FILE (README, Security)"
            )
        key = self.patient_hash_key.get_secret_value()
        if key == DEV_HASH_KEY:
            problems.append(
                "BENZO_CDS_PATIENT_HASH_KEY is the development default: set a "
                f"random key of at least {MIN_HASH_KEY_LENGTH} characters"
            )
        elif len(key) < MIN_HASH_KEY_LENGTH:
            problems.append(
                f"BENZO_CDS_PATIENT_HASH_KEY has {len(key)} characters: production "
                f"needs at least {MIN_HASH_KEY_LENGTH}"
            )
        return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
