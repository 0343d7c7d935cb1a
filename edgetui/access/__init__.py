"""Access control: who may call what on the device.

Offers `AccessPolicy` (the `[access]` roles, from SO_PEERCRED or the invoking user),
`required_role`, `allows`, `allowed_methods`, `refusal_message`, `FORBIDDEN` (the JSON-RPC
error code of a refused call), `current_caller` (who called the method running now) with
`set_current_caller`/`reset_current_caller` for the runtime's call path, and the gate every
call passes: `call_guarded` (role check, caller bound, outcome audited) and `check_allowed`
(the role check alone, for the socket's own methods).

Modules: `policy` (roles and callers), `gate` (the call path). It knows the audit part only
through the `Auditor` protocol of `gate`.
"""

from edgetui.access.gate import call_guarded, check_allowed
from edgetui.access.policy import (
    FORBIDDEN,
    AccessPolicy,
    allowed_methods,
    allows,
    current_caller,
    refusal_message,
    required_role,
    reset_current_caller,
    set_current_caller,
)

__all__ = [
    "FORBIDDEN",
    "AccessPolicy",
    "allowed_methods",
    "allows",
    "call_guarded",
    "check_allowed",
    "current_caller",
    "refusal_message",
    "required_role",
    "reset_current_caller",
    "set_current_caller",
]
