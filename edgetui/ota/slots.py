"""A/B slots on the filesystem: `slots/a`, `slots/b`, the `slots/current` symlink, and the
durable slot state (`ota/state.json`).

Everything that must survive a power cut is written with write-temp, fsync, rename,
fsync-dir; the symlink is swapped by renaming a fresh link over `current`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from edgetui.durable import atomic_write, fsync_dir
from edgetui.file_digest import sha256_file
from edgetui.models.clock import rfc3339
from edgetui.models.ota import SLOT_NAMES, HistoryEntry, OtaState, SlotState
from edgetui.models.serde import from_dict, to_dict

HISTORY_LIMIT = 500
# Written by Python when a slot's agent modules are imported; not part of the content.
_IGNORED_DIRS = {"__pycache__"}


def now_rfc3339() -> str:
    """UTC timestamp like 2026-05-06T14:30:00Z."""
    return rfc3339(timespec="seconds")


@dataclass(frozen=True)
class Entry:
    """One path of a slot as its content digest sees it."""

    kind: str  # "d" directory, "f" regular file, "l" symlink, "o" anything else
    size: int = 0  # files
    sha256: str = ""  # files: hex digest of the bytes
    target: str = ""  # symlinks: the link text
    to_dir: bool = False  # symlinks that resolve to a directory (listed after the files)


# Relative POSIX path (no "." or "") -> entry; the slot root itself is implicit.
Listing = dict[str, Entry]
DIR = Entry("d")


def listing_digest(listing: Listing) -> str:
    """`sha256:<hex>` over a slot's listing, in the canonical form every slot digest uses.

    Per directory, depth first, names sorted: `d <dir>`, then a line per file and symlink
    (`f <path> <size> <sha256>`, `l <path> <target>`, `o <path>`), then the symlinks that
    resolve to directories, then each subdirectory. That is the order a sorted os.walk gives,
    so a digest recorded from a walk (older installs) and one built while extracting match.
    Directories named in _IGNORED_DIRS are left out with everything under them.
    """
    children: dict[str, list[str]] = {"": []}
    for rel, entry in listing.items():
        parent, _, name = rel.rpartition("/")
        children.setdefault(parent, []).append(name)
        if entry.kind == "d":
            children.setdefault(rel, [])
    h = hashlib.sha256()
    stack = [""]  # explicit, not recursive: archive paths may nest deeper than the stack
    while stack:
        d = stack.pop()
        h.update(f"d {d or '.'}\n".encode())
        files: list[str] = []
        dir_links: list[str] = []
        subdirs: list[str] = []
        for name in sorted(children.get(d, ())):
            rel = f"{d}/{name}" if d else name
            e = listing[rel]
            is_dir = e.kind == "d" or (e.kind == "l" and e.to_dir)
            if is_dir and name in _IGNORED_DIRS:
                continue
            (subdirs if e.kind == "d" else dir_links if is_dir else files).append(rel)
        for rel in files + dir_links:
            e = listing[rel]
            if e.kind == "l":
                h.update(f"l {rel} {e.target}\n".encode())
            elif e.kind == "f":
                h.update(f"f {rel} {e.size} {e.sha256}\n".encode())
            else:
                h.update(f"o {rel}\n".encode())
        stack.extend(reversed(subdirs))
    return "sha256:" + h.hexdigest()


def scan_slot(root: Path, *, fresh: bool = False) -> Listing:
    """The listing of the tree under `root`, every file hashed (blocking: reads it all;
    `fresh`: read every byte again, even of files hashed before in this process)."""
    root = Path(root)
    listing: Listing = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if d not in _IGNORED_DIRS]
        base = Path(dirpath)
        for name in dirnames:  # os.walk lists symlinks to directories here, and skips them
            p = base / name
            rel = p.relative_to(root).as_posix()
            is_link = p.is_symlink()
            listing[rel] = Entry("l", target=os.readlink(p), to_dir=True) if is_link else DIR
        for name in filenames:
            p = base / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                listing[rel] = Entry("l", target=os.readlink(p))
            elif p.is_file():
                listing[rel] = Entry("f", p.stat().st_size, sha256_file(p, fresh=fresh))
            else:
                listing[rel] = Entry("o")
    return listing


def content_digest(root: Path, *, fresh: bool = False) -> str:
    """`sha256:<hex>` over every path, type, size, file hash and link target under `root`
    (`fresh`: no remembered file digest is used, as a tamper check needs)."""
    return listing_digest(scan_slot(root, fresh=fresh))


class SlotStore:
    """The slot directories, the `current` link and the durable state file."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.root = self.state_dir / "slots"
        self.current_link = self.root / "current"
        self.state_path = self.state_dir / "ota" / "state.json"
        self.downloads = self.state_dir / "ota" / "downloads"

    # -- directories ------------------------------------------------------------------
    def ensure(self) -> None:
        """Create `slots/a`, `slots/b` and the OTA state directory if missing."""
        for name in SLOT_NAMES:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        self.state_path.parent.mkdir(parents=True, exist_ok=True)

    def slot_dir(self, name: str) -> Path:
        if name not in SLOT_NAMES:
            raise ValueError(f"unknown slot {name!r}")
        return self.root / name

    @staticmethod
    def other(name: str | None) -> str:
        """The slot that is not `name` (slot "a" when nothing is booted yet)."""
        if name is None:
            return "a"
        return "b" if name == "a" else "a"

    def current(self) -> str | None:
        """The slot `current` points to, or None when there is no (valid) link."""
        try:
            target = os.readlink(self.current_link)
        except OSError:
            return None
        name = Path(target).name
        return name if name in SLOT_NAMES else None

    def switch(self, name: str) -> None:
        """Point `current` at slot `name` atomically (new link, rename over, fsync dir)."""
        self.slot_dir(name)  # validates
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / ".current.tmp"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(name, tmp)  # relative: the state dir may move
        fsync_dir(self.root)
        os.replace(tmp, self.current_link)
        fsync_dir(self.root)

    def unlink_current(self) -> None:
        """Remove `current` (no verified slot left to boot)."""
        with contextlib.suppress(FileNotFoundError):
            self.current_link.unlink()
            fsync_dir(self.root)

    def clear_slot(self, name: str) -> None:
        """Empty slot `name` (it must not be the booted one; the caller checks)."""
        d = self.slot_dir(name)
        if d.exists():
            for child in d.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        d.mkdir(parents=True, exist_ok=True)
        fsync_dir(d)

    # -- durable state ----------------------------------------------------------------
    def load(self) -> OtaState:
        """Read the state file; a missing file is a device with two empty slots."""
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return OtaState()
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.state_path}: unreadable OTA state: {exc}") from None
        state = from_dict(OtaState, data)
        for name in SLOT_NAMES:  # a file from an older layout may lack a slot
            if name not in state.slots:
                state.slots[name] = SlotState(name)
        return state

    def save(self, state: OtaState) -> None:
        """Write the state durably (write-temp, fsync, rename, fsync-dir)."""
        if len(state.history) > HISTORY_LIMIT:
            state.history = state.history[-HISTORY_LIMIT:]
        data = json.dumps(to_dict(state), indent=1, sort_keys=True).encode()
        atomic_write(self.state_path, data)

    @staticmethod
    def record(state: OtaState, action: str, result: str, reason: str, **kw: str | None) -> None:
        """Append one history entry (the caller saves)."""
        state.history.append(
            HistoryEntry(time=now_rfc3339(), action=action, result=result, reason=reason, **kw)
        )
