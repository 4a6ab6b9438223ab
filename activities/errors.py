"""The boundary between our error tree and Temporal: an activity interceptor turns
`ProviderUnavailable` into a retryable ApplicationError (honouring Retry-After) and
`ProviderRejected`/`DomainError` into a non-retryable one with a message a person can act
on. Activities themselves just raise the tree."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from domain.errors import DomainError, ProviderRejected, ProviderUnavailable, RetaguardaError


def to_application_error(exc: RetaguardaError) -> ApplicationError:
    details: dict[str, Any] = {"attempt": activity.info().attempt, "code": exc.code}
    if isinstance(exc, ProviderUnavailable):
        details["provider"] = exc.provider
        delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
        return ApplicationError(
            exc.message, details, type="ProviderUnavailable", next_retry_delay=delay
        )
    if isinstance(exc, ProviderRejected):
        details["provider"] = exc.provider
        return ApplicationError(exc.message, details, type=exc.code, non_retryable=True)
    if isinstance(exc, DomainError):
        return ApplicationError(exc.message, details, type=exc.code, non_retryable=True)
    return ApplicationError(exc.message, details, type=exc.code)


class _TranslateErrors(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except RetaguardaError as exc:
            raise to_application_error(exc) from exc


class ErrorTranslation(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _TranslateErrors(super().intercept_activity(next))
