"""`edgetui fleet retrain-set`: the retraining set from what devices sent.

fleet retrain-set --out DIR [--store S] [--since T] [--filter EXPR] [--version V]
    [--val-fraction F] [--force] [--json]

Reads the samples devices sent when a drift or confidence alert fired (`devices/<id>/retrain`,
opt-in on each device), labels each with the rule policy (the teacher the model is distilled
from) and writes DIR as `edgetui model train --data DIR` reads it (edgetui.modelkit's
`write_field_dataset`). Exit 0 written, 1 nothing to write (or DIR holds a dataset already),
2 usage. The fleet store is read only; JAX is never imported here.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from edgetui.cli.context import Context, command, print_json
from edgetui.cli.exits import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CommandError
from edgetui.units import parse_since

DATASET_FILES = ("train.jsonl", "val.jsonl")


def register_retrain(fsub: argparse._SubParsersAction, common: Any) -> None:
    q = command(
        fsub,
        "retrain-set",
        cmd_retrain_set,
        help="write a training set from the inputs devices sent when drift alerts fired",
        description="Label the decision inputs devices sent (opt-in, [retrain]) with the rule "
        "policy and write train.jsonl/val.jsonl for `edgetui model train --data DIR`.",
    )
    common(q, broker=False)
    q.add_argument("--out", required=True, metavar="DIR")
    q.add_argument(
        "--since",
        default="",
        metavar="T",
        help="samples decided since T: RFC 3339 time, or an age such as 7d, 12h",
    )
    q.add_argument("--filter", "--device-filter", dest="filter", default="",
                   metavar="EXPR",
                   help="only devices that match (as fleet devices --filter)")  # fmt: skip
    q.add_argument("--version", default=None, metavar="V", help="only samples of model V")
    q.add_argument("--val-fraction", type=float, default=0.1, metavar="F")
    q.add_argument("--force", action="store_true", help="replace a dataset already in DIR")


def cmd_retrain_set(ctx: Context) -> int:
    from edgetui.cli.fleet_options import fleet_session
    from edgetui.fleet import DeviceFilter, FilterError

    a = ctx.args
    if not 0.0 < a.val_fraction < 1.0:
        raise CommandError("--val-fraction: expected a number between 0 and 1", EXIT_USAGE)
    try:
        flt = DeviceFilter.parse(a.filter)
    except FilterError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    now = time.time()
    try:
        since = parse_since(a.since, now) if a.since else None
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    out = Path(a.out)
    present = [n for n in DATASET_FILES if (out / n).exists()]
    if present and not a.force:
        raise CommandError(
            f"{out} already holds {present[0]}: give --force to replace it, or another --out"
        )
    with fleet_session(ctx) as session:
        store = session.store
        where = store.where
        devices = None
        if a.filter:
            devices = [d.device_id for d in store.devices() if flt.matches(d, now)]
        samples = store.retrain_samples(since=since, devices=devices, version=a.version)
        filtered = since is not None or devices is not None or a.version is not None
        stored = len(store.retrain_samples()) if filtered and not samples else len(samples)
    if not samples:
        if not stored:
            raise CommandError(
                f"no retraining samples in the fleet store {where} (devices send them when "
                "[retrain] share_inputs = true and a drift or confidence alert fires)",
                EXIT_ERROR,
            )
        raise CommandError(
            f"no retraining samples match the options ({stored} in the store)", EXIT_ERROR
        )
    return _write(ctx, out, samples, where, since)


def _write(ctx: Context, out: Path, samples: list[Any], where: str, since: float | None) -> int:
    from edgetui.fleet.records import iso
    from edgetui.modelkit import field_case, write_field_dataset

    a = ctx.args
    cases = [
        field_case(
            s.event_type,
            s.data,
            s.context,
            {
                "device_id": s.device_id,
                "sample_id": s.sample_id,
                "alert": s.alert,
                "model_version": s.model_version,
                "at": iso(s.at),
                "action": s.action,
                "message": s.message,
                "source": s.source,
                "confidence": s.confidence,
            },
        )
        for s in samples
    ]
    try:
        report = write_field_dataset(
            out,
            cases,
            fraction=a.val_fraction,
            store=where,
            samples=len(samples),
            since=iso(since),
            filter=a.filter or None,
            version=a.version,
            labels="teacher: edgetui.models.decision.fallback_decision",
        )
    except (ValueError, OSError) as exc:
        raise CommandError(f"{out}: {exc}") from None
    if a.json:
        print_json(report)
        return EXIT_OK
    print(
        f"wrote {report['train']} train + {report['val']} val cases into {out} "
        f"from {len(samples)} samples of {len(report['by_device'])} devices "
        f"({report['duplicates']} duplicates dropped)"
    )
    for title, key in (
        ("devices", "by_device"),
        ("event types", "by_event_type"),
        ("rules", "by_rule"),
        ("alerts", "by_alert"),
    ):
        print(f"  {title:<12}" + ", ".join(f"{k} {v}" for k, v in report[key].items()))
    print(f"  the devices disagreed with the rule policy on {report['disagreements']} cases")
    print(f"train with: edgetui model train --data {out} --out MODEL.gguf")
    return EXIT_OK
