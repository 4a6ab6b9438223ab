"""Settings → the sandbox's own config (the sandbox imports nothing of ours)."""

from __future__ import annotations

from pathlib import Path

from config.settings import Settings
from sandbox.core import SandboxConfig


def sandbox_config(settings: Settings) -> SandboxConfig:
    s = settings.secrets
    return SandboxConfig(
        seed=settings.sandbox.seed,
        fault_rate=settings.sandbox.fault_rate,
        webhook_target=settings.webhook_target,
        webhook_secrets={
            "store": s.store_webhook_secret.get_secret_value(),
            "marketplace": s.marketplace_webhook_secret.get_secret_value(),
            "payments": s.payments_webhook_secret.get_secret_value(),
            "carrier": s.carrier_webhook_secret.get_secret_value(),
        },
        api_tokens={
            "store": s.store_api_token.get_secret_value(),
            "payments": s.payments_api_token.get_secret_value(),
            "carrier": s.carrier_api_token.get_secret_value(),
            "bank": s.bank_api_token.get_secret_value(),
        },
        marketplace_client_id=s.marketplace_client_id,
        marketplace_client_secret=s.marketplace_client_secret.get_secret_value(),
        marketplace_token_ttl_s=settings.sandbox.marketplace_token_ttl_s,
        carrier_step_s=settings.sandbox.carrier_step_s,
        carrier_client_id=s.carrier_client_id,
        carrier_client_secret=s.carrier_client_secret.get_secret_value(),
        carrier_refresh_token=s.carrier_refresh_token.get_secret_value(),
        carrier_token_ttl_s=settings.sandbox.carrier_token_ttl_s,
        carrier_refresh_ttl_s=settings.sandbox.carrier_refresh_ttl_s,
        carrier_cart_ttl_s=settings.sandbox.carrier_cart_ttl_s,
        portal_username=s.carrier_portal_username,
        portal_password=s.carrier_portal_password.get_secret_value(),
        seller_username=s.seller_portal_username,
        seller_password=s.seller_portal_password.get_secret_value(),
        # a marketplace reconciled from its seller centre: the gateway's API lacks its sales
        marketplace_report_on_portal_only="marketplace" in settings.finance.portal_channels(),
        timezone=settings.finance.timezone,
        release_days=settings.sandbox.release_days,
        ledger_path=ledger_path(settings),
    )


def ledger_path(settings: Settings) -> Path:
    return settings.var_dir / "sandbox-ledger.jsonl"
