"""Runbooks: every built-in rule and validate check has one that loads; a broken or
misnamed file is one line naming it while the rest still load; the state dir overrides."""

from __future__ import annotations

import json
from pathlib import Path

from edgetui.alerts import builtin_rules
from edgetui.config import load_config
from edgetui.doctor import VALIDATE_CHECKS, load_catalog, shipped_dir

SAMPLE = Path(__file__).parent.parent / "core" / "data" / "status_sample.json"
GOOD = """alert = "disk_low"
summary = "mine"

[[cause]]
title = "the site's own cause"
when = ["resources.disk_free_gb < 1000000"]
next = "call the site"
"""


def test_each_builtin_rule_and_validate_check_has_a_shipped_runbook(tmp_path: Path) -> None:
    config = load_config(None)
    books, errors = load_catalog(config, tmp_path)
    assert errors == []
    assert {n for k, n in books if k == "alert"} == {r.name for r in builtin_rules(config.alerts)}
    assert {n for k, n in books if k == "check"} == set(VALIDATE_CHECKS)
    assert all(b.path.startswith(str(shipped_dir())) for b in books.values())


def test_the_validate_checks_are_the_suites() -> None:
    # The checked-in sample is a real `validate` run's section.
    checks = json.loads(SAMPLE.read_text())["validation"]["checks"]
    assert tuple(c["name"] for c in checks) == VALIDATE_CHECKS


def test_a_broken_file_is_one_line_naming_file_and_line_and_the_rest_load(tmp_path: Path) -> None:
    own = tmp_path / "runbooks"
    own.mkdir()
    (own / "broken.toml").write_text('alert = "disk_low"\nsummary = "x"\n[[cause]\ntitle = "y"\n')
    (own / "nope.toml").write_text(GOOD.replace('"disk_low"', '"no_such_rule"'))
    (own / "badwhen.toml").write_text(GOOD.replace('"resources.disk_free_gb < 1000000"', '"<<"'))
    books, errors = load_catalog(load_config(None), tmp_path)
    assert len(errors) == 3 and all("\n" not in e for e in errors)
    by_file = {Path(e.split(":", 1)[0]).name: e for e in errors}
    assert by_file["broken.toml"].startswith(f"{own / 'broken.toml'}:3: not TOML")
    assert "unknown alert 'no_such_rule' (known: agent_crashloop, " in by_file["nope.toml"]
    assert "condition '<<': expected PATH [OP VALUE]" in by_file["badwhen.toml"]
    assert ("alert", "disk_low") in books and books["alert", "disk_low"].summary != "x"
    assert len(books) == len(VALIDATE_CHECKS) + len(builtin_rules(load_config(None).alerts))


def test_a_runbook_in_the_state_dir_overrides_the_shipped_one(tmp_path: Path) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "site-disk.toml").write_text(GOOD)
    books, errors = load_catalog(load_config(None), tmp_path)
    assert errors == []
    book = books["alert", "disk_low"]
    assert book.summary == "mine" and book.path == str(tmp_path / "runbooks" / "site-disk.toml")
    assert [c.title for c in book.causes] == ["the site's own cause"]
