"""A test marked `native` (it runs llama.cpp in its own process) runs in a forked child, so
a native crash fails that one test and the run goes on; and a guard fails any other test
that makes the pytest process itself load a llama.cpp model.

On a CPU with AMX, llama.cpp once segfaulted on q4_0 models inside the pytest process and
killed the whole run at 39%. The device's inference runs in a child process of the engine;
tests that call llama.cpp directly (`llama_cpp.Llama`, the quantizer) are marked `native`.

The child runs setup, call and teardown of the item and sends the reports back through a
pipe. It tears down only the fixtures it set up itself: those the pytest process had set up
before the fork (a session's PostgreSQL, say) belong to the parent, which tears them down
when the next item no longer needs them, as usual. A child that dies without its reports
(a signal, an `os._exit`) is reported as a failed call, naming the signal.

`EDGETUI_TEST_ALLOW_INPROCESS_LLAMA=1` turns the guard off (for debugging, and for running
the suite while tests still load llama.cpp in-process).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import pytest
from _pytest._code.code import ReprFileLocation
from _pytest.runner import call_and_report

ALLOW_ENV = "EDGETUI_TEST_ALLOW_INPROCESS_LLAMA"
MARKER = "native"

# The pytest process: the guard trips only here, never in a forked child or a subprocess.
_MAIN_PID = os.getpid()
_violations: list[str] = []


def guard_message(what: str) -> str:
    """The one line a guarded test fails with."""
    return (
        f"{what} would load llama.cpp in the pytest process (a native crash ends the run): "
        f"mark the test @pytest.mark.{MARKER} (it then runs in a forked child) or go through "
        f"InferenceEngine (its model runs in a child process); {ALLOW_ENV}=1 disables this guard"
    )


def _guarded(fn: Callable[..., Any], what: str) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if os.getpid() == _MAIN_PID and not os.environ.get(ALLOW_ENV):
            message = guard_message(what)
            # Kept too: the engine's thread may catch the error and fall back to the rules;
            # the report hook fails the test all the same.
            _violations.append(message)
            raise RuntimeError(message)
        return fn(*args, **kwargs)

    wrapper.__edgetui_guard__ = True  # type: ignore[attr-defined]
    return wrapper


# Every way llama-cpp-python loads a model or quantizes one. `Llama.__init__` loads through
# `llama_cpp.llama_cpp.llama_model_load_from_file`; the package re-exports the functions.
_GUARDED_FUNCTIONS = (
    "llama_model_load_from_file",
    "llama_load_model_from_file",
    "llama_model_load_from_splits",
    "llama_model_quantize",
)


def install_guard() -> bool:
    """Wrap llama-cpp-python's model loading in this process; False if it is not installed."""
    try:
        import llama_cpp
        import llama_cpp.llama_cpp as bindings
    except ImportError:
        return False
    if getattr(llama_cpp.Llama.__new__, "__edgetui_guard__", False):
        return True

    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    # In __new__, not __init__: a Llama whose __init__ raised is still collected, and its
    # __del__ fails on the attributes it never got (inside pytest's own traceback
    # formatting, that broke Python 3.11's ast.parse: an INTERNALERROR).
    llama_cpp.Llama.__new__ = _guarded(new, "Llama()")  # type: ignore[method-assign]
    for name in _GUARDED_FUNCTIONS:
        for module in (bindings, llama_cpp):
            fn = getattr(module, name, None)
            if fn is not None and not getattr(fn, "__edgetui_guard__", False):
                setattr(module, name, _guarded(fn, f"llama_cpp.{name}()"))
    return True


def pytest_configure(config: pytest.Config) -> None:
    install_guard()  # the marker itself is registered in pyproject.toml


class OneLine:
    """A failure that is one line, in the failures section and in the short summary."""

    def __init__(self, item: pytest.Item, message: str) -> None:
        path, lineno, _ = item.location
        self.reprcrash = ReprFileLocation(path, (lineno or 0) + 1, message)
        self.message = message

    def toterminal(self, tw: Any) -> None:
        tw.line(self.message)

    def __str__(self) -> str:
        return self.message


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if _violations and os.getpid() == _MAIN_PID:
        report.outcome = "failed"
        report.longrepr = OneLine(item, _violations[0])
        _violations.clear()
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    if item.get_closest_marker(MARKER) is None or os.getpid() != _MAIN_PID:
        return None
    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    reports = _run_forked(item)
    # What the parent set up and the next item does not need goes now, in the parent (not
    # through the teardown hooks: other plugins' hooks expect their own setup in this process).
    call = pytest.CallInfo.from_call(
        lambda: item.session._setupstate.teardown_exact(nextitem),
        when="teardown",
        reraise=(pytest.exit.Exception, KeyboardInterrupt),
    )
    if call.excinfo is not None:
        reports = [r for r in reports if r.when != "teardown"]
        reports.append(pytest.TestReport.from_item_and_call(item, call))
    for report in reports:
        ihook.pytest_runtest_logreport(report=report)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def _run_forked(item: pytest.Item) -> list[pytest.TestReport]:
    """The item's reports from a forked child, or one failed report saying how it died."""
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_fd)
        code = 1
        try:
            data = [
                item.config.hook.pytest_report_to_serializable(config=item.config, report=r)
                for r in _child_protocol(item)
            ]
            with os.fdopen(write_fd, "wb") as out:
                out.write(json.dumps(data).encode())
            code = 0
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            payload = pipe.read()  # read before waiting: a full pipe would block the child
        _, status = os.waitpid(pid, 0)
    except BaseException as exc:  # pytest-timeout's alarm, ^C: the child must not linger
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        if isinstance(exc, pytest.fail.Exception):
            return [_failed(item, f"{exc} (its child process {pid} was killed)")]
        raise
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return [_failed(item, f"crashed with signal {sig} ({signal.Signals(sig).name})")]
    if not payload:
        return [_failed(item, f"its child process exited with {os.waitstatus_to_exitcode(status)}")]
    return [
        item.config.hook.pytest_report_from_serializable(config=item.config, data=d)
        for d in json.loads(payload)
    ]


def _child_protocol(item: pytest.Item) -> list[pytest.TestReport]:
    """Setup, call, then teardown of only what this child set up."""
    state = item.session._setupstate
    parents = list(state.stack)  # set up before the fork: the parent's to tear down
    reports = [call_and_report(item, "setup", log=False)]
    if reports[0].passed:
        reports.append(call_and_report(item, "call", log=False))
    for node in parents:
        state.stack.pop(node, None)
    reports.append(call_and_report(item, "teardown", log=False, nextitem=None))
    return reports


def _failed(item: pytest.Item, why: str) -> pytest.TestReport:
    path, lineno, _ = item.location
    return pytest.TestReport(
        nodeid=item.nodeid,
        location=item.location,
        keywords={k: 1 for k in item.keywords},
        outcome="failed",
        longrepr=OneLine(item, f"{path}:{(lineno or 0) + 1}: {item.name} {why}"),
        when="call",
        sections=[],
        duration=0.0,
        user_properties=[],
    )
