"""Production refuses every secret still at its development default, one by one, by
comparing with the default (the codec key's default contains no "dev-only" text)."""

from __future__ import annotations

import base64
import os
from decimal import Decimal

import pytest
from pydantic import SecretStr, ValidationError

from config.settings import SecretSettings, Settings

pytestmark = pytest.mark.unit

SECRETS = list(SecretSettings.model_fields)


def real_value(name: str) -> str:
    if name == "codec_key":
        return base64.b64encode(os.urandom(32)).decode()
    if name == "certificate_path":
        return "/etc/retaguarda/a1.pfx"
    return f"prod-{name}-{os.urandom(4).hex()}"


def all_real(**override: str) -> SecretSettings:
    values: dict[str, object] = {}
    for name in SECRETS:
        raw = override.get(name, real_value(name))
        field = SecretSettings.model_fields[name]
        values[name] = SecretStr(raw) if field.annotation is SecretStr else raw
    return SecretSettings.model_validate(values)


def test_production_accepts_secrets_that_are_all_set() -> None:
    assert Settings(mode="production", secrets=all_real()).mode == "production"


@pytest.mark.parametrize("name", SECRETS)
def test_production_refuses_each_secret_left_at_its_default(name: str) -> None:
    default = getattr(SecretSettings(), name)
    raw = default.get_secret_value() if isinstance(default, SecretStr) else default
    with pytest.raises(ValidationError) as refused:
        Settings(mode="production", secrets=all_real(**{name: raw}))
    message = str(refused.value)
    assert f"RETAGUARDA_SECRETS__{name.upper()}" in message
    assert message.count("RETAGUARDA_SECRETS__") == 1  # only the one left at its default


def test_local_mode_runs_on_the_development_defaults() -> None:
    assert Settings().mode == "local"


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_codec_key_that_is_not_32_bytes_is_refused_with_how_to_make_one(bad: str) -> None:
    with pytest.raises(ValidationError, match="base64 of 32 random bytes"):
        SecretSettings(codec_key=SecretStr(bad))


def test_one_issuer_field_from_the_environment_keeps_the_rest_of_the_default_issuer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETAGUARDA_ISSUER__CRT", "1")
    monkeypatch.setenv("RETAGUARDA_ISSUER__ADDRESS__NUMBER", "2000")

    issuer = Settings().issuer

    assert issuer.crt == "1"
    assert issuer.address.number == "2000"
    assert issuer.cnpj == "11222333000181"  # the default issuer's
    assert issuer.address.city_code == "3550308"


def test_tax_rules_from_the_environment_change_one_entry_and_keep_the_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETAGUARDA_TAXES__FCP_RATES__BA", "2")
    monkeypatch.setenv("RETAGUARDA_TAXES__INTERNAL_RATES__SP", "18.5")
    monkeypatch.setenv("RETAGUARDA_TAXES__NCM__85183000__CST", "40")
    monkeypatch.setenv("RETAGUARDA_TAXES__PIS_RATE", "1.65")

    taxes = Settings().taxes

    assert taxes.fcp_rates == {"RJ": Decimal("2"), "MG": Decimal("2"), "BA": Decimal("2")}
    assert taxes.internal_rate("SP") == Decimal("18.5")
    assert taxes.internal_rate("BA") == Decimal("20.5")
    assert taxes.rule_for("85183000").cst == "40"
    assert taxes.rule_for("49019900").cst == "41"  # the default book rule stays
    assert taxes.pis_rate == Decimal("1.65")


def test_the_marketplace_seller_id_from_the_environment_keeps_the_platform_cnpj(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETAGUARDA_NFE__INTERMEDIARIES__MARKETPLACE__SELLER_ID", "LOJA-123")

    platform = Settings().nfe.intermediaries["marketplace"]

    assert (platform.cnpj, platform.seller_id) == ("03007331000141", "LOJA-123")


def test_an_intermediary_cnpj_with_a_bad_check_digit_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETAGUARDA_NFE__INTERMEDIARIES__MARKETPLACE__CNPJ", "03007331000142")

    with pytest.raises(ValidationError, match="not a valid CNPJ"):
        Settings()


def test_an_issuer_moved_to_another_city_gets_that_citys_code_not_sao_paulos(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETAGUARDA_ISSUER__ADDRESS__STATE", "MG")
    monkeypatch.setenv("RETAGUARDA_ISSUER__ADDRESS__CITY", "Belo Horizonte")

    assert Settings().issuer.address.city_code == "3106200"


def test_an_issuer_city_code_of_another_state_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RETAGUARDA_ISSUER__ADDRESS__CITY_CODE", "3106200")

    with pytest.raises(ValidationError, match="3106200 is Belo Horizonte, MG, not a city of SP"):
        Settings()
