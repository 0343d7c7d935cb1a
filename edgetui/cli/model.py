"""`edgetui model make-tiny|info|verify`: the GGUF model file, without the runtime; and the
release side's dataset|train|eval|quantize (edgetui/cli/model_kit.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgetui.cli.context import Context, command, command_group, print_json
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK, CommandError
from edgetui.file_digest import sha256_file
from edgetui.inference import ModelFileError, check_model, gguf_metadata


def register(sub: argparse._SubParsersAction) -> None:
    from edgetui.cli import model_kit

    msub = command_group(sub, "model", help="make, inspect, verify, train and evaluate GGUF models")
    model_kit.register(msub)

    q = command(msub, "make-tiny", cmd_make_tiny, help="write the tiny random-weight llama GGUF")
    q.add_argument("--out", required=True, metavar="PATH")
    q.add_argument("--seed", type=int, default=0)

    q = command(msub, "info", cmd_info, help="print a GGUF file's metadata")
    q.add_argument("path", metavar="PATH")

    q = command(msub, "verify", cmd_verify, help="check a model's sha256 and GGUF structure")
    q.add_argument("path", metavar="PATH")
    q.add_argument("--sha256", required=True, metavar="HEX")


def cmd_make_tiny(ctx: Context) -> int:
    from edgetui.inference.tiny_model import make_tiny_model

    out = make_tiny_model(Path(ctx.args.out), seed=ctx.args.seed)
    info = {"path": str(out), "size": out.stat().st_size, "sha256": sha256_file(out)}
    if ctx.args.json:
        print_json(info)
    else:
        print(f"wrote {out} ({info['size']} bytes, sha256 {info['sha256']})")
        print("random weights: its decisions are arbitrary, the decision grammar keeps them valid")
    return EXIT_OK


def cmd_info(ctx: Context) -> int:
    path = Path(ctx.args.path)
    try:
        meta = gguf_metadata(path)
    except ModelFileError as exc:
        raise CommandError(str(exc)) from None
    meta = {"path": str(path), "size": path.stat().st_size, **meta}
    if ctx.args.json:
        print_json(meta)
    else:
        width = max(map(len, meta))
        for key, value in meta.items():
            print(f"{key:<{width}}  {value}")
    return EXIT_OK


def cmd_verify(ctx: Context) -> int:
    path = Path(ctx.args.path)
    try:
        checked = check_model(path, ctx.args.sha256)
    except ModelFileError as exc:
        if ctx.args.json:
            print_json({"path": str(path), "ok": False, "reason": str(exc)})
            return EXIT_ERROR
        raise CommandError(str(exc)) from None
    if ctx.args.json:
        print_json({"path": str(path), "ok": True, "sha256": checked.sha256, "name": checked.name})
    else:
        print(f"ok: {path} sha256 {checked.sha256} ({checked.name}, {checked.architecture})")
    return EXIT_OK
