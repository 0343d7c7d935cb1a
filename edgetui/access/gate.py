"""The gate every runtime call passes: the role check, the caller bound for the call, and
the audit record of the outcome. The runtime and the control socket call it; it is here so
that the policy and its bookkeeping live in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from edgetui.access.policy import (
    FORBIDDEN,
    allows,
    refusal_message,
    required_role,
    reset_current_caller,
    set_current_caller,
)
from edgetui.api import APIError
from edgetui.models.security import Caller

Params = dict[str, Any]


class Auditor(Protocol):
    """What the gate needs of the audit part (`edgetui.audit.SecurityService`): the access
    part does not import it, so audit may use the policy without an import circle."""

    async def refused(self, caller: Caller, method: str, params: Params, needed: str, message: str) -> None: ...  # noqa: E501  # fmt: skip
    async def record_call(self, caller: Caller, method: str, params: Params, *, result: Any = None, error: Exception | None = None) -> None: ...  # noqa: E501  # fmt: skip


async def check_allowed(
    caller: Caller, method: str, params: dict[str, Any], security: Auditor | None
) -> str:
    """The role `method` needs; raises APIError(FORBIDDEN) naming it when the caller's role
    is not enough (after auditing the refusal and reporting it to the monitor)."""
    needed = required_role(method, params)
    if not allows(caller.role, method, params):
        message = refusal_message(caller, method, needed)
        if security is not None:
            await security.refused(caller, method, params, needed, message)
        raise APIError(
            message, FORBIDDEN, {"method": method, "needed_role": needed, "role": caller.role}
        )
    return needed


async def call_guarded(
    caller: Caller,
    method: str,
    params: dict[str, Any],
    fn: Callable[[dict[str, Any]], Awaitable[Any]],
    security: Auditor | None,
) -> Any:
    """Run `fn(params)` for `caller` if its role allows; calls that need more than
    `viewer` are audited with their outcome (success or error)."""
    needed = await check_allowed(caller, method, params, security)
    audited = needed != "viewer" and security is not None
    token = set_current_caller(caller)
    try:
        result = await fn(params)
    except Exception as exc:
        if audited and security is not None:
            await security.record_call(caller, method, params, error=exc)
        raise
    finally:
        reset_current_caller(token)
    if audited and security is not None:
        await security.record_call(caller, method, params, result=result)
    return result
