"""HTTP at the boundary: explicit timeouts, and every failure translated into the error
tree (retries belong to Temporal, not to the client)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from domain.errors import ProviderRejected, ProviderUnavailable


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        for key in ("message", "error", "detail", "error_description"):
            if body.get(key):
                return str(body[key])[:300]
    return str(body)[:300]


def raise_for_provider(response: httpx.Response, provider: str) -> None:
    """429 and 5xx are transient (retried, honouring Retry-After); other 4xx are final."""
    status = response.status_code
    if status < 400:
        return
    detail = _detail(response)
    where = f"{response.request.method} {response.request.url.path}"
    if status == 429 or status >= 500:
        retry_after = response.headers.get("Retry-After")
        raise ProviderUnavailable(
            f"{provider} answered {status} to {where}: {detail}",
            provider=provider,
            code=f"http_{status}",
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    raise ProviderRejected(
        f"{provider} refused {where} ({status}): {detail}", provider=provider, code=f"http_{status}"
    )


async def send(
    client: httpx.AsyncClient, provider: str, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """Send a request; network trouble becomes ProviderUnavailable, HTTP errors go through
    `raise_for_provider`."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise ProviderUnavailable(
            f"{provider} did not answer {method} {url} in time ({type(exc).__name__})",
            provider=provider,
            code="timeout",
        ) from exc
    except httpx.TransportError as exc:
        raise ProviderUnavailable(
            f"cannot reach {provider} at {url}: {exc}", provider=provider, code="unreachable"
        ) from exc
    raise_for_provider(response, provider)
    return response


M = TypeVar("M", bound=BaseModel)


def read_model(response: httpx.Response, model: type[M], provider: str) -> M:
    """Validate a provider's answer (numbers as Decimal); a shape we do not recognise is a
    final rejection that says where it differs."""
    try:
        return model.model_validate(json.loads(response.content, parse_float=Decimal))
    except ValidationError as exc:
        first = exc.errors()[0]
        problem = f"{'.'.join(map(str, first['loc'])) or 'body'}: {first['msg']}"
    except ValueError:
        problem = "the body is not JSON"
    raise ProviderRejected(
        f"{provider} answered {response.request.method} {response.request.url.path} with an "
        f"unexpected body ({problem})",
        provider=provider,
        code="unexpected_response",
    )
