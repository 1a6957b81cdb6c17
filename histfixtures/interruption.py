"""
What a Ctrl-C during a load says, and how ``loadfixture`` exits on one.

A load runs in one transaction, so an interrupted load leaves nothing: the
``KeyboardInterrupt`` leaves the transaction, which rolls back, and goes on
up as it came, so that whatever handles Ctrl-C still does. The load only
writes on it that nothing was loaded: ``migrate``, whose traceback histfixtures
does not own, ends with ``KeyboardInterrupt: the fixture load was rolled
back; nothing was loaded``; ``loadfixture`` run from the command line prints
that as one line instead of a traceback, then ends as Python ends any
program on an uncaught ``KeyboardInterrupt``, killed by ``SIGINT`` (exit
status 130 in a shell), so that shell loops and scripts stop too.
"""

from __future__ import annotations

import sys
from types import TracebackType

#: What a KeyboardInterrupt that stopped a load says, once it rolled back.
ROLLED_BACK = "the fixture load was rolled back; nothing was loaded"


def mark_rolled_back(interrupt: KeyboardInterrupt) -> None:
    """Say on ``interrupt`` that the load it stopped was rolled back."""
    if not interrupt.args:
        interrupt.args = (ROLLED_BACK,)


def rolled_back(interrupt: KeyboardInterrupt) -> bool:
    """Whether ``interrupt`` stopped a load that was then rolled back."""
    return interrupt.args == (ROLLED_BACK,)


def silence(interrupt: KeyboardInterrupt) -> None:
    """
    Let ``interrupt``, already reported, end the program without a traceback.

    Python prints an uncaught exception with ``sys.excepthook``, then, for a
    ``KeyboardInterrupt``, finishes (atexit handlers run) and kills itself
    with ``SIGINT``. Only the printing is skipped, for this exception alone.
    """
    previous = sys.excepthook

    def excepthook(
        kind: type[BaseException],
        value: BaseException,
        traceback: TracebackType | None,
    ) -> None:
        if value is not interrupt:
            previous(kind, value, traceback)

    sys.excepthook = excepthook
