"""
The management command running the current code, found on the stack.

Django passes neither the command nor its verbosity to a system check or a
migration operation: ``migrate`` gives its executor only a progress
callback, and the operations only a schema editor. The command that runs is
the ``self`` of the nearest frame of a management command's method on the
stack (its ``handle()``, or ``BaseCommand.execute()`` running the checks).
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand


def running_command() -> BaseCommand | None:
    """The nearest management command on the stack, or None outside one."""
    frame = sys._getframe()
    while frame is not None:
        command = frame.f_locals.get("self")
        if isinstance(command, BaseCommand):
            return command
        frame = frame.f_back  # type: ignore[assignment]
    return None


def running_migrate() -> BaseCommand | None:
    """The running ``migrate`` command (or a subclass), if it is the nearest."""
    from django.core.management.commands.migrate import Command as MigrateCommand

    command = running_command()
    return command if isinstance(command, MigrateCommand) else None
