"""What every headless command gets: the parsed args, config, state dir and API access."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgetui.api import RuntimeAPI
from edgetui.config import Config

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class CommandError(Exception):
    """A command failed in a way the user should read; `code` is the exit status."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Context:
    """Per-invocation context handed to command functions."""

    args: argparse.Namespace
    config: Config
    state_dir: Path

    @contextlib.asynccontextmanager
    async def api(self, *, standalone: bool = False) -> AsyncIterator[RuntimeAPI]:
        """Attach to the daemon, or run the runtime in-process for the command's duration."""
        from edgetui.session import open_api

        api = await open_api(self.config, self.state_dir, standalone=standalone)
        try:
            yield api
        finally:
            await api.close()


def print_json(obj: Any) -> None:
    """One JSON document per line on stdout (NDJSON-friendly), flushed at once."""
    sys.stdout.write(json.dumps(obj, separators=(",", ":"), default=str) + "\n")
    sys.stdout.flush()
