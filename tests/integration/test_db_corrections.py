"""A correction letter's number is held while it is sent: a second text asked for the
same number is refused (not sent in place of the first), the same text again is the
same letter, and a number SEFAZ rejected can be used again."""

from datetime import UTC, datetime

import pytest

from db.fiscal_lifecycle import FiscalLifecycleRepository
from domain.fiscal_lifecycle import Correction, CorrectionRequest, CorrectionStatus

pytestmark = pytest.mark.integration

KEY = "35261111222333000181550010000000011724612128"


def letter(text: str, sequence: int = 1) -> CorrectionRequest:
    return CorrectionRequest(
        order_id="order:store:1",
        access_key=KEY,
        sequence=sequence,
        text=text,
        requested_at=datetime(2026, 12, 1, 12, tzinfo=UTC),
        requested_by="ana",
    )


FIRST = letter("Endereco de entrega: apartamento 42, bloco B")
SECOND = letter("Endereco de entrega: casa dos fundos, portao azul")


async def test_a_second_text_for_a_number_being_sent_is_refused(sessionmaker):
    repo = FiscalLifecycleRepository(sessionmaker)

    assert await repo.claim_correction(FIRST) is None
    assert await repo.claim_correction(FIRST) is None  # the same letter asked again
    assert await repo.claim_correction(SECOND) == FIRST.text
    [held] = await repo.corrections("order:store:1")
    assert (held.status, held.text) == (CorrectionStatus.SENDING, FIRST.text)
    assert await repo.next_correction_sequence(KEY) == 1


async def test_a_rejected_number_is_taken_by_the_next_letter_and_a_registered_one_is_not(
    sessionmaker,
):
    repo = FiscalLifecycleRepository(sessionmaker)
    await repo.claim_correction(FIRST)
    await repo.record_correction(
        FIRST,
        Correction(access_key=KEY, sequence=1, status=CorrectionStatus.REJECTED, message="580"),
    )

    assert await repo.claim_correction(SECOND) is None
    await repo.record_correction(
        SECOND,
        Correction(access_key=KEY, sequence=1, status=CorrectionStatus.REGISTERED, protocol="1"),
    )

    assert await repo.claim_correction(FIRST) == SECOND.text
    assert await repo.next_correction_sequence(KEY) == 2
    [kept] = await repo.corrections("order:store:1")
    assert (kept.status, kept.text) == (CorrectionStatus.REGISTERED, SECOND.text)
