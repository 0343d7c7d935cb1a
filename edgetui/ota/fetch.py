"""Transport: fetch a manifest and download a package from http(s)://, file:// or a path.

Downloads resume from a `.part` file with an HTTP Range request, hash while they stream
(no second pass over the file), never read past the manifest's size, and check free space
before the first byte is written.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlparse

from edgetui import __version__
from edgetui.durable import fsync_dir
from edgetui.faults import fault_point
from edgetui.file_digest import sha256_file
from edgetui.models.untrusted import clip
from edgetui.ota.errors import OtaError
from edgetui.ota.manifest import MAX_MANIFEST_BYTES

log = logging.getLogger(__name__)

CHUNK = 1 << 20
SPACE_MARGIN = 16 << 20  # headroom left on the disk after download + extraction
USER_AGENT = f"edgetui/{__version__} (ota)"
Progress = Callable[[int, int], None]
FreeSpace = Callable[[Path], int]


SCHEMES = ("http", "https", "file")


def check_scheme(url: str) -> None:
    """Refuse a URL whose scheme the device cannot fetch (ftp://, s3://, ...) in those words,
    rather than reading it as a local path that is then "not found"."""
    if "://" not in url:
        return  # a plain path
    scheme = urlparse(url).scheme.lower()
    if scheme not in SCHEMES:
        raise OtaError(
            "unsupported_scheme",
            f"unsupported scheme {clip(scheme + '://', 20)} in {clip(url, 80, quote=False)}: "
            "use https://, http://, file:// or a path",
        )


def shorter(where: str, actual: int, size: int) -> OtaError:
    """The error for a package that has fewer bytes than its manifest signed for."""
    return OtaError(
        "size_mismatch",
        f"package {where} is {actual} bytes, shorter than the signed size of {size} bytes",
    )


def is_remote(url: str) -> bool:
    """True for http:// and https:// sources."""
    return urlparse(url).scheme in ("http", "https")


def local_path(url: str) -> Path:
    """The filesystem path of a file:// URL or a plain path."""
    if url.startswith("file://"):
        return Path(unquote(urlparse(url).path))
    return Path(url)


def part_path(dest: Path) -> Path:
    """Where an unfinished download of `dest` is kept for resuming."""
    return Path(dest).with_suffix(".part")


def resolve_package_url(manifest_url: str, package_url: str) -> str:
    """The package location; a relative package URL is relative to the manifest's location."""
    if "://" in package_url:
        return package_url
    if urlparse(manifest_url).scheme in ("http", "https", "file"):
        return urljoin(manifest_url, package_url)
    if os.path.isabs(package_url):
        return package_url
    return str(Path(manifest_url).parent / package_url)


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _status_words(code: int, reason: str | None = None) -> str:
    words = reason or http.client.responses.get(code, "")
    return f"HTTP {code} {words}".strip()


def _open(
    url: str, timeout: float, headers: dict[str, str] | None = None, *, pass_416: bool = False
):
    """urlopen with OtaError for every failure before the body (None for 416 if pass_416)."""
    req = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
    )
    try:
        return urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and pass_416:
            return None
        raise OtaError("http_error", f"{_status_words(exc.code, exc.reason)} for {url}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise OtaError("timeout", f"{url}: no answer within {timeout:g} s") from None
        raise OtaError("http_error", f"cannot reach {url}: {exc.reason}") from None
    except TimeoutError:
        raise OtaError("timeout", f"{url}: no answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        raise OtaError("http_error", f"{url}: {exc.__class__.__name__}: {exc}") from None


def fetch_manifest(url: str, *, timeout: float = 30) -> bytes:
    """The manifest's bytes (at most 1 MiB) from http(s)://, file:// or a path."""
    check_scheme(url)
    if is_remote(url):
        with _open(url, timeout, {"Cache-Control": "no-cache"}) as resp:
            try:
                data = resp.read(MAX_MANIFEST_BYTES + 1)
            except TimeoutError:
                raise OtaError("timeout", f"{url}: body stalled for {timeout:g} s") from None
            except (OSError, http.client.HTTPException) as exc:
                raise OtaError("http_error", f"{url}: interrupted: {exc}") from None
    else:
        path = local_path(url)
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_MANIFEST_BYTES + 1)
        except FileNotFoundError:
            raise OtaError("not_found", f"manifest {path} not found") from None
        except OSError as exc:
            raise OtaError("not_found", f"manifest {path} unreadable: {exc}") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise OtaError("too_large", f"manifest at {url} is larger than {MAX_MANIFEST_BYTES} bytes")
    return data


def check_free_space(
    directory: Path,
    *,
    download: int,
    extract: int,
    free_space: FreeSpace | None = None,
) -> None:
    """Raise OtaError(no_space) unless download + extraction + margin fit in `directory`."""
    avail = free_space(directory) if free_space else shutil.disk_usage(directory).free
    need = download + extract + SPACE_MARGIN
    if avail < need:
        raise OtaError(
            "no_space",
            f"not enough disk space in {directory}: need {_human(need)} "
            f"(download {_human(download)} + extraction {_human(extract)} + margin "
            f"{_human(SPACE_MARGIN)}), {_human(avail)} available",
        )


@dataclass(frozen=True)
class SlowLimit:
    """curl's --speed-limit/--speed-time: fail a transfer that moves fewer than
    `min_bytes_per_s` on average over `over_s` seconds (a per-read timeout alone lets a
    server that drips a byte now and then hold an update forever)."""

    min_bytes_per_s: float
    over_s: float

    def check(self, window: tuple[float, int], have: int) -> tuple[float, int]:
        """The measuring window to carry on with; raises OtaError("timeout") if too slow."""
        start, at = window
        elapsed = time.monotonic() - start
        if elapsed < self.over_s:
            return window
        got = have - at
        if got < self.min_bytes_per_s * elapsed:
            raise OtaError(
                "timeout",
                f"transfer too slow: {_human(got)} in {elapsed:.0f} s, below the minimum of "
                f"{_human(self.min_bytes_per_s)}/s over {self.over_s:g} s "
                "([ota] download_min_bytes_per_s, download_slow_s)",
            )
        return (time.monotonic(), have)


def slow_limit(config: Any) -> SlowLimit | None:
    """The [ota] download_min_bytes_per_s / download_slow_s pair (None when turned off)."""
    rate, over = config.download_min_bytes_per_s, config.download_slow_s
    return SlowLimit(rate, over) if rate > 0 and over > 0 else None


class _Partial:
    """The .part file, its running sha256 and length; survives between attempts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sha = hashlib.sha256()
        self.have = 0
        if path.exists():
            # Resuming: hash what is already there once, then continue streaming.
            with open(path, "rb") as f:
                while block := f.read(CHUNK):
                    self.sha.update(block)
                    self.have += len(block)

    def reset(self) -> None:
        self.path.unlink(missing_ok=True)
        self.sha = hashlib.sha256()
        self.have = 0

    def stream(
        self,
        read: Callable[[int], bytes],
        size: int,
        progress: Progress | None,
        slow: SlowLimit | None = None,
    ) -> None:
        """Append from read() until `size` bytes; too_large if the source has more, and
        `timeout` if it sends slower than `slow` allows."""
        first = True
        window = (time.monotonic(), self.have)
        with open(self.path, "ab") as f:
            try:
                while self.have < size:
                    if slow is not None:
                        window = slow.check(window, self.have)
                    block = read(min(CHUNK, size - self.have + 1))
                    if not block:
                        break
                    if self.have + len(block) > size:
                        raise OtaError(
                            "too_large", f"source sends more than the manifest's {size} bytes"
                        )
                    f.write(block)
                    self.sha.update(block)
                    self.have += len(block)
                    if first:
                        f.flush()  # the fault kill must leave the bytes in the .part
                        fault_point("ota.mid_download")
                        first = False
                    if progress:
                        progress(self.have, size)
            finally:
                f.flush()
                os.fsync(f.fileno())


def _download_http(
    state: _Partial, url: str, size: int, timeout: float, progress, slow: SlowLimit | None
) -> None:
    headers = {"Range": f"bytes={state.have}-"} if state.have else {}
    resp = _open(url, timeout, headers, pass_416=bool(state.have))
    if resp is None:
        state.reset()  # our .part does not fit what the server has: start over
        resp = _open(url, timeout)
    with resp:
        status = resp.status
        if status == 206:
            start = resp.headers.get("Content-Range", "").removeprefix("bytes ").split("-")[0]
            if start != str(state.have):
                state.reset()
                raise OtaError("http_error", f"{url}: bad Content-Range {start!r}; restarting")
        elif status == 200:
            if state.have:
                log.info("server ignored the Range request; restarting the download")
                state.reset()
        else:
            raise OtaError("http_error", f"{_status_words(status)} for {url}")
        length = resp.headers.get("Content-Length")
        total = resp.headers.get("Content-Range", "").rpartition("/")[2]
        if status == 206 and total.isdigit() and int(total) < size:
            state.reset()
            raise shorter(url, int(total), size)
        if length is not None and length.isdigit() and int(length) < size - state.have:
            have = state.have
            state.reset()
            raise shorter(url, int(length) + have, size)
        if length is not None and length.isdigit() and int(length) > size - state.have:
            state.reset()
            raise OtaError(
                "too_large",
                f"{url}: server announces {int(length) + state.have} bytes, manifest says {size}",
            )
        # read1: return what has arrived, so a stall loses nothing already received.
        state.stream(resp.read1, size, progress, slow)
        if length is None and state.have == size:
            try:  # no length announced: make sure the server has no more to send
                if resp.read(1):
                    state.reset()
                    raise OtaError("too_large", f"{url}: more than the manifest's {size} bytes")
            except (TimeoutError, OSError, http.client.HTTPException):
                pass  # the hash decides


def _download_local(state: _Partial, path: Path, size: int, progress) -> None:
    if not path.is_file():
        raise OtaError("not_found", f"package {path} not found")
    with open(path, "rb") as f:
        actual = os.fstat(f.fileno()).st_size
        if actual > size:
            raise OtaError("too_large", f"package {path} is {actual} bytes, manifest says {size}")
        if actual < size:
            state.reset()
            raise shorter(str(path), actual, size)
        f.seek(state.have)
        state.stream(f.read, size, progress)


def _fetch_once(
    state: _Partial,
    url: str,
    size: int,
    timeout: float,
    progress: Progress | None,
    slow: SlowLimit | None,
) -> None:
    """One transfer, resuming at `state.have`; every failure comes out as an OtaError."""
    check_scheme(url)
    try:
        if is_remote(url):
            _download_http(state, url, size, timeout, progress, slow)
        else:
            _download_local(state, local_path(url), size, progress)
    except TimeoutError:
        raise OtaError(
            "timeout",
            f"{url}: no data for {timeout:g} s at {state.have} of {size} bytes "
            "(.part kept; run again to resume)",
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise OtaError(
            "http_error",
            f"{url}: interrupted at {state.have} of {size} bytes ({exc.__class__.__name__}); "
            ".part kept; run again to resume",
        ) from None
    if state.have < size:
        raise OtaError(
            "http_error",
            f"{url}: connection closed at {state.have} of {size} bytes "
            "(.part kept; run again to resume)",
        )


def download(
    url: str,
    dest: Path,
    *,
    size: int,
    sha256: str,
    timeout: float = 30,
    progress: Progress | None = None,
    extract_estimate: int | None = None,
    free_space: FreeSpace | None = None,
    retries: int = 3,
    retry_delay: float = 0.5,
    slow: SlowLimit | None = None,
) -> None:
    """Download `url` to `dest`, resuming, hashing as it streams; raises OtaError.

    `extract_estimate` (default: size) is the room extraction will need on the same disk;
    `free_space` replaces shutil.disk_usage (tests). An interrupted transfer that made
    progress is retried up to `retries` times, each resuming where the last stopped.
    `slow` fails a remote transfer that stays too slow (see SlowLimit).
    """
    dest = Path(dest)
    want = sha256.removeprefix("sha256:").lower()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        if dest.stat().st_size == size and sha256_file(dest) == want:
            if progress:
                progress(size, size)
            return  # already complete (e.g. killed after the download finished)
        dest.unlink()
    state = _Partial(part_path(dest))
    if state.have > size:
        state.reset()
    check_free_space(
        dest.parent,
        download=size - state.have,
        extract=size if extract_estimate is None else extract_estimate,
        free_space=free_space,
    )
    if progress:
        progress(state.have, size)
    attempt = 0
    while state.have < size:
        before = state.have
        try:
            _fetch_once(state, url, size, timeout, progress, slow)
        except OtaError as exc:
            if exc.code == "too_large":
                state.reset()
            retry = exc.code in ("http_error", "timeout") and state.have > before
            if not retry or attempt >= retries:
                raise
            attempt += 1
            log.info("download interrupted (%s); resuming in %.1f s", exc, retry_delay)
            time.sleep(retry_delay)
    digest = state.sha.hexdigest()
    if digest != want:
        state.reset()
        raise OtaError(
            "checksum_mismatch",
            f"package sha256 {digest[:16]}… does not match manifest {want[:16]}… (tampered?)",
        )
    os.replace(state.path, dest)
    fsync_dir(dest.parent)
