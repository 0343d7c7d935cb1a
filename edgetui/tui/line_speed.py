"""Whether the dashboard draws for a slow line: a serial console at 115200 baud or less
turns low-bandwidth mode on by itself (an SSH session or a local terminal is a
pseudo-terminal, whose nominal speed means nothing, and never does)."""

from __future__ import annotations

import os
import re
import termios
from dataclasses import dataclass

SLOW_BAUD = 115_200  # at or below it the full dashboard cannot keep up (about 6-7 KB/s)
# The kernel's names for serial lines: 8250/16550 UARTs, USB adapters and modems, the
# Raspberry Pi's and i.MX's UARTs, the console device itself.
SERIAL_TTY = re.compile(r"^/dev/(ttyS|ttyUSB|ttyACM|ttyAMA|ttymxc|ttyO|ttyPS|ttyGS|console)\d*$")
_BAUD = {
    getattr(termios, f"B{n}"): n
    for n in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
    if hasattr(termios, f"B{n}")
}


@dataclass
class LineVerdict:
    """Low-bandwidth on or off, and why (the header and the log say it)."""

    on: bool
    why: str


def serial_baud(fd: int) -> int | None:
    """The output speed of `fd` when it is a serial line; None for anything else."""
    try:
        name = os.ttyname(fd)
        speed = termios.tcgetattr(fd)[5]  # ospeed
    except (OSError, termios.error):
        return None
    if not SERIAL_TTY.match(name):
        return None
    return _BAUD.get(speed)


def decide(flag: bool | None, configured: bool, baud: int | None) -> LineVerdict:
    """`--low-bandwidth`/`--no-low-bandwidth` (flag) win, then `[tui] low_bandwidth`, then
    the line: a serial console at SLOW_BAUD or less."""
    if flag is not None:
        return LineVerdict(flag, "--low-bandwidth" if flag else "--no-low-bandwidth")
    if configured:
        return LineVerdict(True, "[tui] low_bandwidth")
    if baud is not None and baud <= SLOW_BAUD:
        return LineVerdict(True, f"serial console at {baud} baud")
    return LineVerdict(False, "")
