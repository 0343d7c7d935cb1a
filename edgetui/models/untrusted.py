"""Reading input nobody vouches for: strict JSON and short echoes in error texts.

Signed documents (manifests, remote commands, `slot.json`) are read with `loads_strict`:
a duplicate key is refused, because the signed value would win here while another tool
reading the same bytes may take the other one; and nesting is bounded, so a line of
100,000 `[` is a clear error instead of a `RecursionError`.

Error texts echo hostile input only through `clip`: a short prefix and the full length.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64  # far deeper than any document the device reads legitimately
CLIP_CHARS = 40


class StrictJSONError(ValueError):
    """Input that is not strict JSON: bad syntax, a duplicate key or too deep nesting."""


def clip(value: object, limit: int = CLIP_CHARS, *, quote: bool = True) -> str:
    """Value for an error text: `repr` (or the bare text with quote=False) cut to a short
    prefix, saying how long it was when cut."""
    text = value if isinstance(value, str) else repr(value)
    show = (lambda t: repr(t)) if quote and isinstance(value, str) else (lambda t: t)
    if len(text) <= limit:
        return show(text)
    return f"{show(text[:limit])}… ({len(text)} chars)"


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`json.loads` object_pairs_hook refusing a duplicated key (StrictJSONError, a
    ValueError): another reader could take the other value than the one signed or hashed."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise StrictJSONError(f"duplicate key {clip(key)}")
        obj[key] = value
    return obj


def depth(value: Any) -> int:
    """How deeply lists and objects nest in a decoded JSON value (iterative: no recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def loads_strict(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode JSON, refusing duplicate keys and nesting deeper than `max_depth`.

    Raises StrictJSONError (a ValueError) with a one-line reason.
    """
    try:
        value = json.loads(data, object_pairs_hook=no_duplicate_keys)
    except StrictJSONError:
        raise
    except RecursionError:
        raise StrictJSONError(f"nested deeper than {max_depth} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StrictJSONError(f"not JSON ({_first_line(exc)})") from None
    if depth(value) > max_depth:
        raise StrictJSONError(f"nested deeper than {max_depth} levels")
    return value


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return text[:200]
