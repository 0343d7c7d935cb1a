"""The gate every runtime call passes: the role check, the caller bound for the call, and
the audit record of the outcome. The runtime and the control socket call it; it is here so
that the policy and its bookkeeping live in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from edgetui.api import APIError
from edgetui.models.security import Caller
from edgetui.security.access import (
    FORBIDDEN,
    allows,
    refusal_message,
    required_role,
    reset_current_caller,
    set_current_caller,
)

if TYPE_CHECKING:
    from edgetui.security.service import SecurityService


async def check_allowed(
    caller: Caller, method: str, params: dict[str, Any], security: SecurityService | None
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
    security: SecurityService | None,
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
