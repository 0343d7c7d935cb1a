"""The doctor: what is wrong right now, its probable causes with their evidence, and the
next step, from the runbooks of the alert rules and validate checks.

Offers `diagnose` (a status document and runbooks in, a `DoctorReport` out: pure);
`load_catalog`, `runbook_files` (a device's runbooks, shipped then from the state dir),
`load_runbooks`, `shipped_dir`, `Runbook`, `RunbookError`, `VALIDATE_CHECKS`; and the
report's types `DoctorReport`, `Finding`, `RankedCause`, `Evidence`.

`DoctorService` is the runtime's part (`doctor.report`).

Modules: `runbooks` (the file format and its loader), `catalog` (which runbooks a device
has), `diagnose` (the ranking), `service` (the part), `text` (the report in words, for
both faces: `render`, `render_finding`).
"""

from edgetui.doctor.catalog import VALIDATE_CHECKS, load_catalog, runbook_files
from edgetui.doctor.diagnose import DoctorReport, Evidence, Finding, RankedCause, diagnose
from edgetui.doctor.runbooks import Runbook, RunbookError, load_runbooks, shipped_dir
from edgetui.doctor.service import DoctorService
from edgetui.doctor.text import render, render_finding

__all__ = [
    "VALIDATE_CHECKS",
    "DoctorReport",
    "DoctorService",
    "Evidence",
    "Finding",
    "RankedCause",
    "Runbook",
    "RunbookError",
    "diagnose",
    "load_catalog",
    "load_runbooks",
    "render",
    "render_finding",
    "runbook_files",
    "shipped_dir",
]
