"""End a process without CPython's interpreter teardown, once its work and output are done.

The Temporal SDK's Rust core keeps Tokio threads that call back into Python. When the interpreter
finalizes while one of them is still alive, the process can die with SIGSEGV or SIGABRT *after*
everything it had to do succeeded (temporalio/sdk-python#300: "PyGILState_Release: thread state
must be current"). Measured here: a process that connects a client, lists workflows and returns
crashed 5 times in 210 exits; ending it with `os._exit` after flushing crashed 0 times in 150.

So every `lentur` command and the test runner finish through `exit_now`: tracing and logging are
flushed and closed, stdout and stderr flushed, then `os._exit` with the real status.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

from runtime.telemetry import shutdown_tracing


def status_of(exit_: SystemExit) -> int:
    """The status `sys.exit(code)` means: None is 0, a number is itself, anything else is printed and 1."""
    code = exit_.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def exit_now(status: int) -> NoReturn:
    """Flush what this process has to say, then end it with `status` and no interpreter teardown."""
    try:
        shutdown_tracing()
        logging.shutdown()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said
                pass
        os._exit(status)
