"""A token's Magicubes balance: `GET magicubes/balance` on ModelScope's OpenAPI base
(MODELSCOPE_OPENAPI_BASE, https://modelscope.cn/openapi/v1/), with the same token. It answers
`total_balance`, `available_balance` and `frozen_amount` (held for running tasks); it starts
no task and costs nothing. Read every few minutes, never per job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import TransportError
from core.modelscope.http import ModelScopeHttp

BALANCE_PATH = "magicubes/balance"


@dataclass(frozen=True)
class Balance:
    total: float
    available: float
    frozen: float


class BalanceReader:
    """One token's balance, through an `ModelScopeHttp` at the OpenAPI base."""

    def __init__(self, http: ModelScopeHttp) -> None:
        self._http = http

    @property
    def token_label(self) -> str:
        return self._http.token_label

    async def read(self) -> Balance:
        """The balance now; an `UpstreamError` (401 a rejected token, a malformed answer)."""
        answer = await self._http.request("GET", BALANCE_PATH, headers={}, operation="balance")
        return parse_balance(answer.data, answer.request_id)


def parse_balance(data: dict[str, Any], request_id: str = "") -> Balance:
    """The three amounts, at the top of the answer or under `data` (as other OpenAPI calls
    wrap theirs); a `TransportError` when they are not numbers."""
    wrapped = data.get("data")
    fields: dict[str, Any] = wrapped if isinstance(wrapped, dict) else data
    try:
        return Balance(
            total=float(fields["total_balance"]),
            available=float(fields["available_balance"]),
            frozen=float(fields.get("frozen_amount") or 0.0),
        )
    except (KeyError, TypeError, ValueError):
        raise TransportError(
            "malformed balance answer", maybe_delivered=False, request_id=request_id
        ) from None
