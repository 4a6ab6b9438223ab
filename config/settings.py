"""Settings: pydantic-settings, env prefix RETAGUARDA_, nested sections with `__`
(e.g. RETAGUARDA_DB__URL, RETAGUARDA_TEMPORAL__ADDRESS)."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.fiscal import FiscalSettings
from domain.cities import CityUnresolved, resolve_city_code
from domain.fiscal import Issuer
from domain.nfe_fields import Intermediary, TechnicalContact
from domain.orders import Address, Channel
from domain.receivables import ChannelTerms, default_terms
from domain.reconciliation import PORTAL_CHANNELS, ReportSource
from domain.steps import TaskQueues
from domain.taxes import TaxRules

DEV_SECRET = "dev-only-change-me"


class TemporalSettings(BaseModel):
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    ui_port: int = 8233
    orders_queue: str = "orders"
    rpa_queue: str = "rpa"
    finance_queue: str = "finance"

    def task_queues(self) -> TaskQueues:
        return TaskQueues(orders=self.orders_queue, rpa=self.rpa_queue, finance=self.finance_queue)


class DatabaseSettings(BaseModel):
    url: str = ""  # empty: SQLite file under var_dir

    def resolved(self, var_dir: Path) -> str:
        return self.url or f"sqlite+aiosqlite:///{(var_dir / 'retaguarda.db').resolve()}"


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # empty: http://host:port
    max_body_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="larger request bodies get 413; a store order of 200 lines is ~40 KiB",
    )
    codec_origins: list[str] = Field(
        default_factory=list,
        description="origins of Temporal UIs allowed to call /codec from a browser, besides "
        "the embedded one (http://<temporal host>:<ui port>)",
    )

    @property
    def url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


class IntakeSettings(BaseModel):
    """The inbox relay that hands stored webhooks to Temporal (api/relay.py)."""

    relay: bool = Field(
        default=True,
        description="run the relay in this API process (claims make several safe)",
    )
    relay_batch: int = Field(default=200, ge=1, le=5000)
    relay_concurrency: int = Field(default=32, ge=1, le=1000)
    relay_lease_s: float = Field(default=60.0, ge=5.0)
    relay_idle_s: float = Field(default=1.0, gt=0)
    relay_yield_above_per_s: float = Field(
        default=200.0,
        ge=0,
        description="hand-over waits while this process takes in more webhooks a second "
        "(at most 30 s in a row): intake first during a burst; 0 turns it off",
    )


class SandboxSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8070
    seed: int = 42
    fault_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    webhook_target: str = ""  # empty: the API's /webhooks
    marketplace_token_ttl_s: float = 6 * 3600
    carrier_step_s: float = 2.0
    carrier_token_ttl_s: float = Field(default=30 * 86400, gt=0, description="access token")
    carrier_refresh_ttl_s: float = Field(default=45 * 86400, gt=0, description="refresh token")
    carrier_cart_ttl_s: float = Field(
        default=7 * 86400, gt=0, description="a cart item not checked out expires"
    )
    release_days: int = Field(
        default=0, ge=0, le=60, description="the payment provider releases money this late"
    )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class DocumentSettings(BaseModel):
    """The document store: authorised NF-e XML, DANFE PDFs and event XML
    (integrations/documents/store.py)."""

    dir: Path | None = Field(
        default=None, description="empty: <var_dir>/documents; the API and workers share it"
    )

    @field_validator("dir", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        return None if value == "" else value

    def resolved(self, var_dir: Path) -> Path:
        return self.dir or var_dir / "documents"


class FinanceSettings(BaseModel):
    """Receivables and the nightly reconciliations (RETAGUARDA_FINANCE__...)."""

    timezone: str = Field(
        default="UTC", description="where the books' days begin and end, e.g. America/Sao_Paulo"
    )
    terms: dict[str, ChannelTerms] = Field(
        default_factory=default_terms,
        description="channel -> commission, fees, freight share and release rule",
    )
    tolerance: Decimal = Field(
        default=Decimal("0.00"), ge=0, description="amounts this close count as equal"
    )
    bank_date_tolerance_days: int = Field(default=2, ge=0, le=31)
    window_days: int = Field(
        default=120, ge=1, le=3650, description="receivables this old are still matched"
    )
    schedule: bool = Field(default=True, description="create the nightly schedules")
    marketplace_cron: str = "30 3 * * *"  # every night at 03:30 (UTC): yesterday's report
    bank_cron: str = "0 4 * * *"  # after the marketplace run: its payouts are expected
    work_dir: Path | None = Field(default=None, description="empty: <var_dir>/finance")
    opening_balance: Decimal = Field(
        default=Decimal("0.00"), description="the bank balance on opening_on (cash position)"
    )
    opening_on: date | None = Field(
        default=None, description="the day of opening_balance; empty: before every statement"
    )

    @field_validator("opening_on", mode="before")
    @classmethod
    def _no_opening_day(cls, value: Any) -> Any:
        return None if value == "" else value

    horizon_days: int = Field(default=30, ge=1, le=366, description="cash-flow projection")
    report_sources: dict[str, ReportSource] = Field(
        default_factory=dict,
        description="channel -> api | portal: where its settlement report is (default api)",
    )

    @field_validator("report_sources")
    @classmethod
    def _portal_only_where_a_bot_knows_it(
        cls, value: dict[str, ReportSource]
    ) -> dict[str, ReportSource]:
        channels = {c.value for c in Channel}
        for channel, source in value.items():
            if channel not in channels:
                known = ", ".join(sorted(channels))
                raise ValueError(f"report_sources names {channel!r}, not a channel ({known})")
            if source is ReportSource.PORTAL and channel not in PORTAL_CHANNELS:
                raise ValueError(
                    f"no seller portal bot knows channel {channel!r}: its report source can only "
                    f"be api (portal: {', '.join(sorted(PORTAL_CHANNELS))})"
                )
        return value

    def portal_channels(self) -> list[str]:
        """The channels whose settlement report the `rpa` bot fetches from their portal."""
        return sorted(c for c, s in self.report_sources.items() if s is ReportSource.PORTAL)

    @field_validator("work_dir", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name)") from exc
        return value

    @field_validator("terms", mode="before")
    @classmethod
    def _terms_over_the_default(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        default = {k: t.model_dump() for k, t in default_terms().items()}
        return _over(default, value)

    @model_validator(mode="after")
    def _every_channel_has_terms(self) -> FinanceSettings:
        missing = sorted(c.value for c in Channel if c.value not in self.terms)
        if missing:
            raise ValueError(f"finance terms missing for channel(s) {', '.join(missing)}")
        return self


class RpaSettings(BaseModel):
    """The `rpa` worker: one Chromium per process, this many portal tasks at once."""

    pool_size: int = Field(default=2, ge=1, le=32)
    chromium_path: str = ""  # empty: the system's Chromium, else Playwright's build
    page_timeout_s: float = Field(default=20.0, gt=0, description="one page or form action")
    trace: bool = Field(default=True, description="keep a Playwright trace of failed tasks")


class ProviderSettings(BaseModel):
    """Where each provider lives; empty means the sandbox."""

    store_url: str = ""
    marketplace_url: str = ""
    payments_url: str = ""
    sefaz_url: str = ""
    sefaz_contingency_url: str = ""  # the SVC's host; empty: the same base as sefaz_url
    carrier_url: str = ""
    portal_url: str = ""  # the carrier portal without an API (its site's root)
    seller_url: str = ""  # the marketplace's seller centre without an API (its site's root)
    bank_url: str = ""
    timeout_s: float = 10.0


class SecretSettings(BaseModel):
    store_webhook_secret: SecretStr = SecretStr(DEV_SECRET + "-store")
    marketplace_webhook_secret: SecretStr = SecretStr(DEV_SECRET + "-marketplace")
    payments_webhook_secret: SecretStr = SecretStr(DEV_SECRET + "-payments")
    carrier_webhook_secret: SecretStr = SecretStr(DEV_SECRET + "-carrier")
    store_api_token: SecretStr = SecretStr(DEV_SECRET + "-store-token")
    marketplace_client_id: str = "retaguarda-dev"
    marketplace_client_secret: SecretStr = SecretStr(DEV_SECRET + "-ml-secret")
    payments_api_token: SecretStr = SecretStr(DEV_SECRET + "-payments-token")
    carrier_api_token: SecretStr = SecretStr(DEV_SECRET + "-carrier-token")  # OAuth access
    carrier_refresh_token: SecretStr = SecretStr(DEV_SECRET + "-carrier-refresh")
    carrier_client_id: str = "retaguarda-dev"
    carrier_client_secret: SecretStr = SecretStr(DEV_SECRET + "-carrier-secret")
    carrier_portal_username: str = "retaguarda"
    carrier_portal_password: SecretStr = SecretStr(DEV_SECRET + "-portal")
    seller_portal_username: str = "retaguarda-vendas"
    seller_portal_password: SecretStr = SecretStr(DEV_SECRET + "-seller")
    bank_api_token: SecretStr = SecretStr(DEV_SECRET + "-bank-token")
    codec_key: SecretStr = SecretStr("ZGV2LW9ubHktY29kZWMta2V5LWNoYW5nZS1tZS0wMDA=")
    certificate_path: str = ""  # empty in local mode: a self-signed A1 made under var/
    certificate_password: SecretStr = SecretStr(DEV_SECRET + "-cert")
    bootstrap_admin_key: SecretStr = SecretStr(DEV_SECRET + "-admin-key")

    @field_validator("codec_key")
    @classmethod
    def _codec_key_is_32_bytes(cls, value: SecretStr) -> SecretStr:
        try:
            key = base64.b64decode(value.get_secret_value(), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ValueError(
                "the codec key must be the base64 of 32 random bytes, e.g. "
                "`python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'`"
            )
        return value


def development_secrets(secrets: SecretSettings) -> list[str]:
    """The secret settings still at their development default (or empty where a real
    value is required)."""
    defaults = SecretSettings()
    weak = []
    for name in SecretSettings.model_fields:
        value, default = getattr(secrets, name), getattr(defaults, name)
        if isinstance(value, SecretStr):
            value, default = value.get_secret_value(), default.get_secret_value()
        if value == default or not value:
            weak.append(name)
    return weak


class Durations(BaseModel):
    """Business durations, settings so a demo runs in minutes."""

    payment_window_s: float = 3 * 24 * 3600
    delivery_window_s: float = 30 * 24 * 3600
    late_payment_grace_s: float = 7 * 24 * 3600
    webhook_tolerance_s: float = 300
    order_arrival_sla_s: float = 3600  # a payment held for an order that has not arrived
    warehouse_sla_s: float = 24 * 3600  # picked, packed and checked within this
    tracking_poll_s: float = 6 * 3600  # no tracking news this long: ask the carrier
    sefaz_contingency_after_s: float = 15 * 60  # of 108/109 before NF-e go to the SVC

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, value: Any) -> Any:
        if isinstance(value, dict) and "invoice_cancel_window_s" in value:
            raise ValueError(
                "the NF-e cancellation window is per state now, in hours: set "
                "RETAGUARDA_FISCAL__CANCEL_WINDOW_H__<UF> (e.g. __SP=24) instead of "
                "RETAGUARDA_DURATIONS__INVOICE_CANCEL_WINDOW_S"
            )
        return value


def _default_issuer() -> Issuer:
    return Issuer(
        cnpj="11222333000181",
        name="RETAGUARDA COMERCIO ELETRONICO LTDA",
        trade_name="Retaguarda",
        ie="111111111111",
        address=Address(
            street="Rua Augusta",
            number="1000",
            district="Consolacao",
            city="Sao Paulo",
            city_code="3550308",
            state="SP",
            postal_code="01304001",
        ),
    )


MERCADO_LIVRE_CNPJ = "03007331000141"  # Ebazar.com.br Ltda, the Mercado Livre platform
MERCADO_PAGO_CNPJ = "10573521000191"  # Mercado Pago Instituição de Pagamento Ltda


class NfeSettings(BaseModel):
    """What the NF-e says besides the taxes (RETAGUARDA_NFE__...)."""

    intermediaries: dict[str, Intermediary] = Field(
        default_factory=lambda: {
            # seller_id: the user_id the sandbox marketplace knows us by
            Channel.MARKETPLACE.value: Intermediary(cnpj=MERCADO_LIVRE_CNPJ, seller_id="123456789")
        },
        description="channel -> the platform's CNPJ and our seller id there (infIntermed)",
    )
    card_processors: dict[str, str] = Field(
        default_factory=lambda: {c.value: MERCADO_PAGO_CNPJ for c in Channel},
        description="channel -> CNPJ of who processes its card and Pix payments (card/CNPJ)",
    )
    technical_contact: TechnicalContact = Field(
        default_factory=lambda: TechnicalContact(
            cnpj="11222333000181",
            contact="Equipe Retaguarda",
            email="fiscal@retaguarda.dev",
            phone="1130000000",
        ),
        description="infRespTec: the software's responsible party (set yours in production)",
    )

    @model_validator(mode="after")
    def _marketplaces_have_an_intermediary(self) -> NfeSettings:
        if Channel.MARKETPLACE.value not in self.intermediaries:
            raise ValueError(
                "a marketplace sale names its platform in the NF-e (infIntermed): set "
                "RETAGUARDA_NFE__INTERMEDIARIES__MARKETPLACE__CNPJ and __SELLER_ID"
            )
        for channel, cnpj in self.card_processors.items():
            if not (len(cnpj) == 14 and cnpj.isdigit()):
                raise ValueError(f"card processor of {channel}: {cnpj!r} is not 14 digits")
        return self


def _upper(rates: dict[str, Any]) -> dict[str, Any]:
    return {str(uf).upper(): rate for uf, rate in rates.items()}


def _over(default: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """`given` laid over `default`, nested dictionaries merged key by key."""
    merged = dict(default)
    for name, value in given.items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = _over(merged[name], value)
        else:
            merged[name] = value
    return merged


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RETAGUARDA_", env_nested_delimiter="__", extra="ignore"
    )

    mode: Literal["local", "production"] = "local"
    var_dir: Path = Path("var")
    log_level: str = "INFO"
    temporal: TemporalSettings = TemporalSettings()
    db: DatabaseSettings = DatabaseSettings()
    api: ApiSettings = ApiSettings()
    intake: IntakeSettings = IntakeSettings()
    sandbox: SandboxSettings = SandboxSettings()
    providers: ProviderSettings = ProviderSettings()
    rpa: RpaSettings = RpaSettings()
    documents: DocumentSettings = DocumentSettings()
    finance: FinanceSettings = Field(default_factory=FinanceSettings)
    secrets: SecretSettings = SecretSettings()
    durations: Durations = Durations()
    fiscal: FiscalSettings = FiscalSettings()
    issuer: Issuer = Field(default_factory=_default_issuer)
    taxes: TaxRules = Field(default_factory=TaxRules)
    nfe: NfeSettings = Field(default_factory=NfeSettings)
    warehouse_postal_code: str = "01304001"

    @field_validator("issuer", mode="before")
    @classmethod
    def _issuer_over_the_default(cls, value: Any) -> Any:
        """`RETAGUARDA_ISSUER__CRT=1` changes the regime of the default issuer instead of
        replacing the whole issuer with one that has only a CRT (and fails)."""
        if not isinstance(value, dict):
            return value
        merged = _over(_default_issuer().model_dump(), value)
        moved = value.get("address")
        if isinstance(moved, dict) and "city_code" not in moved and {"city", "state"} & set(moved):
            # Another city or state: its code is looked up by name, not São Paulo's kept.
            del merged["address"]["city_code"]
        return merged

    @field_validator("taxes", mode="before")
    @classmethod
    def _taxes_over_the_default(cls, value: Any) -> Any:
        """`RETAGUARDA_TAXES__FCP_RATES__BA=2` adds Bahia's FCP to the default table,
        `RETAGUARDA_TAXES__NCM__8518__CST=41` one NCM rule, keeping the rest."""
        if not isinstance(value, dict):
            return value
        default = TaxRules().model_dump()
        if isinstance(value.get("internal_rates"), dict):
            value = {**value, "internal_rates": _upper(value["internal_rates"])}
        if isinstance(value.get("fcp_rates"), dict):
            value = {**value, "fcp_rates": _upper(value["fcp_rates"])}
        return _over(default, value)

    @field_validator("nfe", mode="before")
    @classmethod
    def _nfe_over_the_default(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return _over(NfeSettings().model_dump(), value)

    @field_validator("issuer")
    @classmethod
    def _issuer_city_of_its_state(cls, issuer: Issuer) -> Issuer:
        """SEFAZ refuses an issuer whose city code is of another state (273)."""
        where = issuer.address
        try:
            resolve_city_code(where.state, where.city, where.city_code)
        except CityUnresolved as exc:
            raise ValueError(
                f"issuer address: {exc.message} (RETAGUARDA_ISSUER__ADDRESS__STATE, "
                "__CITY and __CITY_CODE)"
            ) from exc
        return issuer

    @model_validator(mode="after")
    def _no_development_secrets_in_production(self) -> Settings:
        """Production refuses every secret still at its development default (compared
        with the default itself), and an empty certificate path."""
        if self.mode != "production":
            return self
        weak = development_secrets(self.secrets)
        if weak:
            raise ValueError(
                "production mode refuses development secrets; set "
                + ", ".join(f"RETAGUARDA_SECRETS__{n.upper()}" for n in weak)
            )
        return self

    @property
    def database_url(self) -> str:
        return self.db.resolved(self.var_dir)

    @property
    def documents_dir(self) -> Path:
        return self.documents.resolved(self.var_dir)

    @property
    def carrier_token_path(self) -> Path:
        """The freight hub's OAuth pair as last renewed (a secrets file, mode 0600)."""
        return self.var_dir / "secrets" / "carrier-oauth.json"

    @property
    def finance_dir(self) -> Path:
        return self.finance.work_dir or self.var_dir / "finance"

    @property
    def webhook_target(self) -> str:
        return self.sandbox.webhook_target or f"{self.api.url}/webhooks"

    def provider_url(self, name: str) -> str:
        explicit: str = getattr(self.providers, f"{name}_url")
        return explicit or f"{self.sandbox.url}/{name}"
