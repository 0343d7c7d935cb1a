"""The daemon: the runtime served on its control socket, under systemd when there is one.

Offers `serve(config, state_dir)` (what `edgetui daemon` runs: the runtime on its control
socket until SIGTERM/SIGINT), `DaemonError` (one that cannot serve, with its reason), and
`SdNotifier`: systemd readiness and watchdog notifications (the documented
NOTIFY_SOCKET protocol, no extra library); the daemon pings from its event loop, so a hung
loop is restarted.

Modules: `serve`, `sd_notify`.
"""

from edgetui.daemon.sd_notify import SdNotifier
from edgetui.daemon.serve import DaemonError, serve

__all__ = ["DaemonError", "SdNotifier", "serve"]
