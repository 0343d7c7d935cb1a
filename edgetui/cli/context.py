"""What every headless command gets: the parsed args, config, state dir and API access."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgetui.api import APIError, RuntimeAPI
from edgetui.cli.exits import EXIT_OK, CommandError
from edgetui.config import Config
from edgetui.models.serde import to_dict

METHOD_NOT_FOUND = -32601  # JSON-RPC: the part is not running in this runtime


def _json_parent(default: object = False) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", default=default,
                        help="print JSON, one document per line, for scripts")  # fmt: skip
    return parent


# The parent parser every command with a machine-readable output takes (through
# `command(...)`): the one `--json` flag.
JSON_PARENT = _json_parent()
# For an action under a command that has `--json` itself (`alerts ack`, `audit verify`):
# the flag is left unset unless given here, so `alerts --json ack` and `alerts ack --json`
# both work (a subparser's default would otherwise overwrite what the parent parsed).
JSON_ACTION_PARENT = _json_parent(argparse.SUPPRESS)


def command(
    sub: argparse._SubParsersAction,
    name: str,
    func: Callable[[Context], Any] | None,
    *,
    help: str,
    needs: str | None = None,
    json: bool | str = True,
    **parser_kw: Any,
) -> argparse.ArgumentParser:
    """One command's parser: the shared `--json` flag (`json="action"` for an action of a
    command that has the flag too; `json=False`: none), the function it runs, and the parts
    its standalone runtime starts (`needs`, a profile of edgetui.runtime.needs; none:
    "inspect"). The caller adds the command's own options."""
    parents = {True: [JSON_PARENT], "action": [JSON_ACTION_PARENT], False: []}[json]
    p = sub.add_parser(name, help=help, parents=parents, **parser_kw)
    p.set_defaults(func=func, **({"needs": needs} if needs is not None else {}))
    return p


async def call_part(
    api: RuntimeAPI, method: str, params: dict[str, Any] | None, missing: str
) -> Any:
    """`api.call`, its errors as CommandError; `missing` is the message when the part that
    owns `method` is not running in this runtime."""
    try:
        return await api.call(method, params or {})
    except APIError as exc:
        if exc.code == METHOD_NOT_FOUND:
            raise CommandError(missing) from None
        raise CommandError(str(exc)) from None


def command_group(
    sub: argparse._SubParsersAction, name: str, *, help: str, metavar: str = "ACTION"
) -> argparse._SubParsersAction:
    """`edgetui NAME ACTION ...`: the parser of a command that only holds actions (one of
    them is required); returns where its actions are added with `command()`."""
    p = sub.add_parser(name, help=help)
    return p.add_subparsers(dest=f"{name}_command", metavar=metavar, required=True)


def needs_of(args: argparse.Namespace) -> frozenset[str]:
    """The parts a command's standalone runtime starts: what its registration declared
    with `set_defaults(needs=...)` (a profile's name in edgetui.runtime.needs, say "slot",
    or the needs themselves), else the read-only "inspect" profile. Only a runtime started
    for this command is concerned: attached, a command reaches what the daemon runs."""
    from edgetui.runtime import needs

    declared = getattr(args, "needs", None) or "inspect"
    if isinstance(declared, str):
        return needs.profile(declared)
    return needs.check(frozenset(declared))


@dataclass
class Context:
    """Per-invocation context handed to command functions."""

    args: argparse.Namespace
    config: Config
    state_dir: Path

    @contextlib.asynccontextmanager
    async def api(self, *, standalone: bool = False) -> AsyncIterator[RuntimeAPI]:
        """Attach to the daemon, or run the runtime in-process for the command's duration,
        with only the parts the command declared it needs (`needs_of`)."""
        from edgetui.session import open_api

        api = await open_api(
            self.config, self.state_dir, standalone=standalone, needs=needs_of(self.args)
        )
        try:
            yield api
        finally:
            await api.close()


def emit(ctx: Context, doc: Any, text: str | list[str]) -> int:
    """A command's answer: `doc` as JSON with `--json`, else `text` (lines) for a person;
    EXIT_OK, for `return emit(...)`."""
    if getattr(ctx.args, "json", False):
        print_json(doc)
    else:
        print(text if isinstance(text, str) else "\n".join(text))
    return EXIT_OK


def print_json(obj: Any) -> None:
    """One JSON document per line on stdout (NDJSON-friendly), flushed at once. Typed
    sections and other dataclasses inside `obj` print as their JSON form."""
    sys.stdout.write(json.dumps(to_dict(obj), separators=(",", ":"), default=str) + "\n")
    sys.stdout.flush()


def add_repeated(
    p: argparse.ArgumentParser, flag: str, *, metavar: str, help: str, required: bool = False
) -> None:
    """A repeatable option (`action="append"`): a list of every value given, [] for none."""
    p.add_argument(flag, action="append", default=None if required else [],
                   required=required, metavar=metavar, help=help)  # fmt: skip
