"""Release-side commands: `keys generate`, `bundle build|verify|inspect` (no runtime needed)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from edgetui.cli.context import Context, command, emit, print_json
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CommandError
from edgetui.ota.errors import OtaError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="manage Ed25519 release signing keys")
    ksub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    g = command(ksub, "generate", cmd_keys_generate, help="write PREFIX.key (0600) and PREFIX.pub")
    g.add_argument("--out", required=True, metavar="PREFIX", help="path prefix of the key pair")

    p = sub.add_parser("bundle", help="build, verify and inspect signed OTA bundles")
    bsub = p.add_subparsers(dest="bundle_command", metavar="ACTION", required=True)
    b = command(bsub, "build", cmd_bundle_build,
                help="pack a slot directory and write a signed manifest.json")  # fmt: skip
    b.add_argument("--source", required=True, metavar="DIR", help="slot content to pack")
    b.add_argument("--version", required=True, metavar="V", help="semantic version")
    b.add_argument("--key", required=True, metavar="PREFIX.key", help="Ed25519 private key")
    b.add_argument("--out", required=True, metavar="OUTDIR")
    b.add_argument("--rollback-version", metavar="V", default=None)
    b.add_argument("--target", nargs="+", action="extend", metavar="all|TYPE|ID",
                   help="devices this release is for (default: all)")  # fmt: skip
    b.add_argument("--expires-days", type=float, default=30.0, metavar="N")
    b.add_argument("--changes", default="", metavar="TEXT")
    b.add_argument("--url-base", default=None, metavar="URL", help="where the package is served")
    b.add_argument(
        "--min-ram-mb", type=int, default=None, metavar="MB", help="RAM a device needs (signed)"
    )
    b.add_argument("--min-disk-mb", type=int, default=None, metavar="MB",
                   help="free disk a device needs (signed)")  # fmt: skip

    v = command(
        bsub, "verify", cmd_bundle_verify, help="check a manifest's signature and its package"
    )
    v.add_argument("--manifest", required=True, metavar="M")
    v.add_argument("--package", default=None, metavar="P", help="default: next to the manifest")
    v.add_argument("--trusted-key", action="append", default=[], metavar="K.pub",
                   help="trusted public key (repeatable; default: [ota] trusted_keys)")  # fmt: skip
    v.add_argument(
        "--revoked-key",
        action="append",
        default=None,
        metavar="ID|K.pub",
        help="revoked key id or .pub (repeatable; default: [ota] revoked_keys)",
    )

    i = command(
        bsub, "inspect", cmd_bundle_inspect, help="show a manifest or package (no trust decision)"
    )
    i.add_argument("path", metavar="MANIFEST_OR_PACKAGE")
    i.add_argument("--members", action="store_true", help="list every archive member")


def _fail(ctx: Context, exc: Exception, prefix: str) -> int:
    """One-line reason on stderr (and a JSON object on stdout with --json); exit 1."""
    code = exc.code if isinstance(exc, OtaError) else "error"
    if ctx.args.json:
        print_json({"ok": False, "code": code, "error": str(exc)})
    raise CommandError(f"{prefix}: {exc}", EXIT_ERROR)


def cmd_keys_generate(ctx: Context) -> int:
    from edgetui.keys import generate_keypair, key_id, load_public_key

    try:
        key, pub = generate_keypair(Path(ctx.args.out))
    except (OSError, ValueError) as exc:
        return _fail(ctx, exc, "keys generate")
    kid = key_id(load_public_key(pub))
    said = (
        f"private key {key} (mode 0600, keep it off devices)\n"
        f"public key  {pub} (add to [ota] trusted_keys on devices)\n"
        f"key id      {kid}"
    )
    return emit(
        ctx, {"ok": True, "private_key": str(key), "public_key": str(pub), "key_id": kid}, said
    )


def cmd_bundle_build(ctx: Context) -> int:
    from edgetui.ota.bundle import MANIFEST_NAME, build_bundle, package_name
    from edgetui.ota.manifest import compare_versions

    a = ctx.args
    for label, value in (("--version", a.version), ("--rollback-version", a.rollback_version)):
        if value is not None:
            try:
                compare_versions(value, value)
            except ValueError as exc:
                raise CommandError(f"{label}: {exc}", EXIT_USAGE) from None
    for label, mb in (("--min-ram-mb", a.min_ram_mb), ("--min-disk-mb", a.min_disk_mb)):
        if mb is not None and mb < 0:
            raise CommandError(f"{label} {mb}: expected a number of MB >= 0", EXIT_USAGE)
    try:
        m = build_bundle(
            Path(a.source), a.version, Path(a.key), Path(a.out),
            rollback_version=a.rollback_version, targets=a.target or ["all"],
            expires_days=a.expires_days, changes=a.changes, url_base=a.url_base,
            min_ram_mb=a.min_ram_mb, min_disk_mb=a.min_disk_mb,
        )  # fmt: skip
    except (OtaError, OSError, ValueError) as exc:
        return _fail(ctx, exc, "bundle build")
    out = Path(a.out)
    doc = {"ok": True, "manifest_path": str(out / MANIFEST_NAME), "manifest": m.to_dict()}
    return emit(ctx, doc, [
        f"built {out / package_name(m.version)} ({m.size} bytes, {m.checksum})",
        f"wrote {out / MANIFEST_NAME}: version {m.version}, key {m.key_id}",
        f"targets {', '.join(m.target_devices)}; expires {m.expires}",
    ])  # fmt: skip


def cmd_bundle_verify(ctx: Context) -> int:
    from edgetui.ota.bundle import verify_bundle

    a = ctx.args
    trusted = a.trusted_key or list(ctx.config.ota.trusted_keys)
    revoked = a.revoked_key if a.revoked_key is not None else list(ctx.config.ota.revoked_keys)
    if not trusted:
        raise CommandError("bundle verify: give --trusted-key K.pub (or [ota] trusted_keys)", 2)
    try:
        m = verify_bundle(
            Path(a.manifest), Path(a.package) if a.package else None, trusted, revoked
        )
    except (OtaError, OSError, ValueError) as exc:
        return _fail(ctx, exc, "bundle rejected")
    return emit(ctx, {"ok": True, "manifest": m.to_dict()}, (
        f"OK: version {m.version} signed by trusted key {m.key_id}, expires {m.expires}; "
        f"package {m.size} bytes matches {m.checksum[:23]}…"
    ))  # fmt: skip


def _render_inspect(info: dict[str, Any], members: bool) -> str:
    if info["kind"] == "manifest":
        m = info["manifest"]
        lines = [f"manifest {info['path']}"]
        for k in sorted(m):
            if k != "signature":
                value = ", ".join(m[k]) if isinstance(m[k], list) else m[k]
                lines.append(f"  {k:<19} {value}")
        lines.append(f"  {'signature':<19} {str(m.get('signature'))[:24]}… (not checked)")
        return "\n".join(lines)
    lines = [
        f"package {info['path']}",
        f"  {'size':<13} {info['size']} bytes",
        f"  {'sha256':<13} {info['sha256']}",
        f"  {'content':<13} {info['files']} files, {info['bytes']} bytes",
    ]
    slot = info.get("slot") or {}
    for k in ("version", "model", "model_sha256", "agents", "golden"):
        lines.append(f"  {k:<13} {slot.get(k)}")
    if members:
        lines += [f"  {m['type']:<8} {m['size']:>12}  {m['name']}" for m in info["members"]]
    return "\n".join(lines)


def cmd_bundle_inspect(ctx: Context) -> int:
    from edgetui.ota.bundle import inspect_bundle

    try:
        info = inspect_bundle(Path(ctx.args.path))
    except (OtaError, OSError, ValueError) as exc:
        return _fail(ctx, exc, "bundle inspect")
    if ctx.args.json:
        print_json({"ok": True, **info})
    else:
        print(_render_inspect(info, ctx.args.members))
    return EXIT_OK
