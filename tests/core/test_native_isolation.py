"""`@pytest.mark.native` tests run forked: a native crash fails that one test and the run goes
on; any other test that loads llama.cpp in the pytest process fails at once, in one line
(tests/support/native.py). Seen from outside: pytest runs in a subprocess on small suites."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support import inner_pytest
from tests.support.native import ALLOW_ENV

CONFTEST = 'pytest_plugins = ["tests.support.native"]\n'

GUARDED = """
import ctypes
import os
import signal
from pathlib import Path

import llama_cpp
import pytest

from edgetui.modelkit import quantize_gguf

MODEL = os.environ["TINY_MODEL"]


def load():
    llm = llama_cpp.Llama(model_path=MODEL, n_ctx=64, verbose=False)
    try:
        return llm.n_ctx()
    finally:
        llm.close()


def test_unmarked_load():
    load()


def test_unmarked_load_whose_error_is_caught():
    try:  # what the engine's thread does: the rule fallback takes over
        load()
    except RuntimeError:
        pass


def test_unmarked_low_level_load():
    params = llama_cpp.llama_model_default_params()
    llama_cpp.llama_model_load_from_file(MODEL.encode(), params)


def test_unmarked_quantize(tmp_path):
    quantize_gguf(Path(MODEL), tmp_path / "q.gguf", "q8_0")


@pytest.mark.native
def test_marked_load():
    assert load() >= 64  # llama.cpp rounds the context up


@pytest.mark.native
def test_marked_quantize(tmp_path):
    assert quantize_gguf(Path(MODEL), tmp_path / "q.gguf", "q8_0").stat().st_size > 0


@pytest.mark.native
def test_marked_segfault():
    os.kill(os.getpid(), signal.SIGSEGV)


@pytest.mark.native
def test_marked_failure_is_reported_from_the_child():
    assert os.getpid() == -1, "the child's own assertion"


def test_after_the_crash():
    pass  # that it ran at all is the point: the crash did not end the run
"""


def test_the_guard_fails_unmarked_loads_and_a_marked_crash_fails_only_its_test(
    tmp_path: Path, tiny_model: Path
) -> None:
    suite = inner_pytest.write_suite(
        tmp_path / "suite", {"conftest.py": CONFTEST, "test_guarded.py": GUARDED}
    )
    proc = inner_pytest.run(suite, {"TINY_MODEL": str(tiny_model)})
    out = proc.stdout + proc.stderr
    assert inner_pytest.outcomes(out) == {
        "test_unmarked_load": "FAILED",
        "test_unmarked_load_whose_error_is_caught": "FAILED",
        "test_unmarked_low_level_load": "FAILED",
        "test_unmarked_quantize": "FAILED",
        "test_marked_load": "PASSED",
        "test_marked_quantize": "PASSED",
        "test_marked_segfault": "FAILED",
        "test_marked_failure_is_reported_from_the_child": "FAILED",
        "test_after_the_crash": "PASSED",
    }, out
    assert proc.returncode == 1, out  # failures, not a crashed or interrupted run
    assert "INTERNALERROR" not in out, out
    summary = {
        line.split(" - ", 1)[0].split("::")[-1]: line.split(" - ", 1)[-1]
        for line in out.splitlines()
        if line.startswith("FAILED ")
    }
    for name in ("test_unmarked_load", "test_unmarked_load_whose_error_is_caught"):
        assert summary[name].startswith("Llama() would load llama.cpp in the pytest process")
        assert "@pytest.mark.native" in summary[name] and ALLOW_ENV in summary[name]
    assert summary["test_unmarked_low_level_load"].startswith(
        "llama_cpp.llama_model_load_from_file() would load"
    )
    assert summary["test_unmarked_quantize"].startswith("llama_cpp.llama_model_quantize()")
    assert "test_marked_segfault crashed with signal 11 (SIGSEGV)" in out
    assert "the child's own assertion" in summary["test_marked_failure_is_reported_from_the_child"]


def test_the_guard_can_be_turned_off(tmp_path: Path, tiny_model: Path) -> None:
    suite = inner_pytest.write_suite(
        tmp_path / "suite",
        {"conftest.py": CONFTEST, "test_off.py": GUARDED.split("@pytest.mark.native")[0]},
    )
    proc = inner_pytest.run(suite, {"TINY_MODEL": str(tiny_model), ALLOW_ENV: "1"})
    out = proc.stdout + proc.stderr
    assert set(inner_pytest.outcomes(out).values()) == {"PASSED"}, out
    assert len(inner_pytest.outcomes(out)) == 4, out


FIXTURES_CONFTEST = """
import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.support.native"]


def note(what):
    with Path(os.environ["LOG"]).open("a") as f:
        f.write(f"{what} {os.getpid()}\\n")


@pytest.fixture(scope="session")
def shared():
    note("session-setup")
    yield
    note("session-teardown")


@pytest.fixture(scope="module")
def per_module():
    note("module-setup")
    yield
    note("module-teardown")


@pytest.fixture
def per_test():
    note("function-setup")
    yield
    note("function-teardown")
"""

FIRST_MODULE = """
import pytest


def test_a(shared, per_module):
    pass


@pytest.mark.native
def test_b(shared, per_module, per_test):
    pass
"""

SECOND_MODULE = """
from conftest import note


def test_c(shared):
    note("test_c")
"""


def test_the_child_tears_down_only_what_it_set_up(tmp_path: Path) -> None:
    """A session or module fixture the parent set up is torn down once, by the parent, when
    the next test no longer needs it; the child tears down its own function fixture."""
    suite = inner_pytest.write_suite(
        tmp_path / "suite",
        {"conftest.py": FIXTURES_CONFTEST, "test_1.py": FIRST_MODULE, "test_2.py": SECOND_MODULE},
    )
    log = tmp_path / "log"
    proc = inner_pytest.run(suite, {"LOG": str(log)})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert set(inner_pytest.outcomes(out).values()) == {"PASSED"}, out
    notes = [line.split() for line in log.read_text().splitlines()]
    steps = [what for what, _ in notes]
    assert steps == [
        "session-setup",
        "module-setup",
        "function-setup",
        "function-teardown",
        "module-teardown",
        "test_c",
        "session-teardown",
    ], notes
    pids = {what: int(pid) for what, pid in notes}
    assert pids["function-setup"] == pids["function-teardown"]  # the child
    parent = {pids[k] for k in ("session-setup", "module-setup", "module-teardown", "test_c")}
    assert parent == {pids["session-teardown"]} and pids["function-setup"] not in parent
    assert pids["function-setup"] != os.getpid()
