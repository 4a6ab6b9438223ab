"""One error tree. Adapters translate third-party exceptions into it at the boundary;
activities turn `ProviderRejected`/`DomainError` into non-retryable Temporal errors; the
API maps the tree to HTTP in one handler."""


class RetaguardaError(Exception):
    """Base of every error this project raises on purpose."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).__name__


class DomainError(RetaguardaError):
    """A business rule refused the request (out of stock, bad check, invalid state)."""


class OutOfStock(DomainError):
    pass


class InvalidTransition(DomainError):
    pass


class ProviderError(RetaguardaError):
    """Something outside (channel, SEFAZ, carrier, bank) did not do what we asked."""

    def __init__(self, message: str, *, provider: str, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.provider = provider


class ProviderUnavailable(ProviderError):
    """Transient: timeouts, 5xx, 429, SEFAZ 108/109. Temporal retries it."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, code=code)
        self.retry_after = retry_after


class ProviderRejected(ProviderError):
    """Final: the provider understood and said no (SEFAZ rejection, 4xx). Not retried."""
