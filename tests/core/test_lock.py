"""The lock: every dependency pinned with hashes, and `make setup` installs nothing else.

No network: the files are read as they are, the Makefile through `make -n` (what it would run).
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
BUILD_CONSTRAINTS = ROOT / "build-constraints.txt"

# The operators' machines the lock is for: Linux on both architectures, every CPython since the
# floor of requires-python. A lock fit for pip has exactly one pin of a package for each.
ENVIRONMENTS = [
    {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": machine,
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    for machine in ("x86_64", "aarch64")
    for python in ("3.11", "3.12", "3.13", "3.14")
]


@dataclass(frozen=True)
class Pin:
    """One entry of a lock: `name==version ; marker` and its hashes."""

    requirement: Requirement
    hashes: tuple[str, ...]

    @property
    def version(self) -> Version:
        (spec,) = self.requirement.specifier
        return Version(spec.version)

    def applies(self, environment: dict[str, str]) -> bool:
        marker = self.requirement.marker
        return marker is None or marker.evaluate(environment)


def parse_lock(text: str) -> dict[str, list[Pin]]:
    """The pins of a requirements file written by uv, by canonical name; asserts its shape."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        current += line.removesuffix("\\").strip() + " "
        if not line.endswith("\\"):
            logical.append(current.strip())
            current = ""
    assert not current, "the lock ends inside a continued line"
    pins: dict[str, list[Pin]] = {}
    for entry in logical:
        # Nothing but `name==version [; marker] --hash=...`: no -e, URL, index or option line.
        head, _, _ = entry.partition(" --hash=")
        assert not head.startswith("-"), entry
        requirement = Requirement(head)
        assert requirement.url is None, entry
        specs = list(requirement.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"not pinned with ==: {entry}"
        hashes = tuple(re.findall(r"--hash=(\w+:[0-9a-f]+)", entry))
        pins.setdefault(canonicalize_name(requirement.name), []).append(Pin(requirement, hashes))
    return pins


def project_requirements() -> list[Requirement]:
    """pyproject.toml's dependencies and those of the dev extra, its own extras expanded."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]
    found = [Requirement(r) for r in project["dependencies"]]
    todo, seen = ["dev"], set()
    while todo:
        extra = todo.pop()
        seen.add(extra)
        for text in extras[extra]:
            req = Requirement(text)
            if canonicalize_name(req.name) == canonicalize_name(project["name"]):
                todo.extend(e for e in req.extras if e not in seen)
            else:
                found.append(req)
    return found


def make_dry_run(*args: str) -> str:
    """What `make ARGS` would run (make -n), recipe lines joined where they continue."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    out = subprocess.run(
        ["make", "--no-print-directory", "-n", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.replace("\\\n", " ")


def pip_installs(dry_run: str) -> list[str]:
    return [line for line in dry_run.splitlines() if "pip install" in line]


@pytest.fixture(scope="module")
def lock() -> dict[str, list[Pin]]:
    return parse_lock(LOCK.read_text())


def test_the_project_requirements_are_what_the_test_expects() -> None:
    # Guards the expansion of the dev extra: a miss here would let the lock test pass on less.
    names = {canonicalize_name(r.name) for r in project_requirements()}
    assert {"textual", "llama-cpp-python", "pytest", "glances", "pg8000", "jax", "ruff"} <= names


@pytest.mark.parametrize("requirement", project_requirements(), ids=str)
def test_every_requirement_is_pinned_within_its_range_on_every_machine(
    lock: dict[str, list[Pin]], requirement: Requirement
) -> None:
    pins = lock.get(canonicalize_name(requirement.name))
    assert pins, f"{requirement.name} is not in requirements.lock: run `make lock`"
    for environment in ENVIRONMENTS:
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        chosen = [p for p in pins if p.applies(environment)]
        assert len(chosen) == 1, (requirement.name, environment)
        assert requirement.specifier.contains(chosen[0].version, prereleases=True), (
            f"requirements.lock pins {chosen[0].requirement}, outside pyproject.toml's "
            f"{requirement}: run `make lock`"
        )


def test_every_pin_carries_sha256_hashes_and_one_per_machine(lock: dict[str, list[Pin]]) -> None:
    assert len(lock) > 40  # the whole tree, not a stub
    for name, pins in lock.items():
        for pin in pins:
            assert pin.hashes, f"{name} has no --hash"
            assert all(h.startswith("sha256:") and len(h) == 7 + 64 for h in pin.hashes), name
        for environment in ENVIRONMENTS:
            assert sum(p.applies(environment) for p in pins) <= 1, (name, environment)


def test_the_parser_rejects_what_pip_would_take_unpinned() -> None:
    assert parse_lock("numpy==2.0 \\\n    --hash=sha256:" + "a" * 64 + "\n")["numpy"][0].hashes
    for bad in ("numpy>=2.0 --hash=sha256:" + "a" * 64, "-e .", "numpy"):
        with pytest.raises(AssertionError):
            parse_lock(bad + "\n")


def test_the_build_tools_are_pinned_with_hashes() -> None:
    pins = parse_lock(BUILD_CONSTRAINTS.read_text())
    build_system = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]
    # Ours, and llama-cpp-python's sdist's backend, built by `make setup`.
    wanted = [Requirement(r) for r in build_system["requires"]]
    wanted.append(Requirement("scikit-build-core>=0.9.2"))
    for requirement in wanted:
        (pin,) = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(pin.version, prereleases=True), requirement
    assert all(pin.hashes for name_pins in pins.values() for pin in name_pins)


def test_setup_installs_the_lock_with_hashes_and_the_project_without_dependencies(
    tmp_path: Path,
) -> None:
    installs = pip_installs(make_dry_run("setup", f"VENV={tmp_path / 'venv'}"))
    from_lock = [i for i in installs if "-r requirements.lock" in i]
    assert len(from_lock) == 1 and "--require-hashes" in from_lock[0].split()
    project = [i for i in installs if i.split()[-2:] == ["-e", "."]]
    assert len(project) == 1 and "--no-deps" in project[0].split()
    # The only other install is pip itself, at one version.
    (other,) = [i for i in installs if i not in from_lock + project]
    assert re.search(r"pip install --quiet pip==[0-9.]+$", other), other
    for line in from_lock + project:
        assert "--build-constraint build-constraints.txt" in line


@pytest.mark.parametrize(
    "changed", ["pyproject.toml", "requirements.lock", "build-constraints.txt"]
)
def test_the_venv_is_made_again_when_the_project_or_the_lock_changes(
    tmp_path: Path, changed: str
) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / ".installed").touch()  # newer than the checked-out files
    assert pip_installs(make_dry_run("setup", f"VENV={venv}")) == []
    assert pip_installs(make_dry_run("setup", f"VENV={venv}", "-W", changed))


def compile_line(dry_run: str) -> str:
    # The command itself, not the header line that quotes it.
    (line,) = [x for x in dry_run.splitlines() if re.match(r"\S*/uv pip compile .*pyproject", x)]
    return line


def test_make_lock_compiles_pyproject_with_the_dev_extra_and_hashes() -> None:
    line = compile_line(make_dry_run("lock")).split()
    for flag in ("--extra", "dev", "--universal", "--generate-hashes", "--python-version"):
        assert flag in line
    assert line[line.index("-o") + 1] == "requirements.lock"
    assert not any(word.startswith("--upgrade") for word in line)


def test_make_lock_upgrade_moves_only_the_named_packages() -> None:
    one = compile_line(make_dry_run("lock", "UPGRADE=llama-cpp-python numpy"))
    assert "--upgrade-package llama-cpp-python --upgrade-package numpy" in one
    assert "--upgrade " not in one
    assert " --upgrade " in compile_line(make_dry_run("lock", "UPGRADE=all"))


def test_the_lock_says_the_command_that_the_makefile_runs() -> None:
    # The header `make lock` would write now must be the one the lock has: a change to the
    # Makefile's flags without `make lock` fails here.
    (command,) = re.findall(r"'(#   uv pip compile [^']*)'", make_dry_run("lock"))
    assert command in LOCK.read_text().splitlines()
