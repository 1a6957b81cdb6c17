"""
What ``LoadFixture`` says in ``migrate``'s output.

loaddata reports "Installed 6 object(s) from 1 fixture(s)"; a migration
that loads fixtures says the same, per fixture, at verbosity 2 and above
(at verbosity 1 migrate shows one line per migration, and the load adds
nothing to it). A long load draws the progress line of histfixtures.progress
when migrate's stdout is a terminal, never in captured or redirected output.

Django hands an operation neither the command nor its verbosity; they are
read from the ``migrate`` command running it (histfixtures.commands). Run
any other way (``call_command("loadfixture")``, upgradefixture's scratch
database, a test database built at verbosity 0), a load says nothing.
"""

from __future__ import annotations

from collections import Counter

from django.db import models

from histfixtures.commands import running_migrate
from histfixtures.progress import FileProgress, short_label
from histfixtures.results import LoadResult


class LoadReport:
    """The output of one LoadFixture run in migrate: progress, then a summary."""

    def __init__(self) -> None:
        command = running_migrate()
        self.stdout = command.stdout if command is not None else None
        self.verbosity = getattr(command, "verbosity", 0) if command else 0
        self.read: dict[str, Counter[str]] = {}
        self.progress = (
            # migrate's "  Applying app.name..." waits on the line for " OK".
            FileProgress(self.stdout, line_in_use=True)
            if self.stdout is not None and self.verbosity >= 1 and self.stdout.isatty()
            else None
        )

    def on_object(self, fixture: str, Model: type[models.Model]) -> None:
        """The engine's ``on_object`` callback: count, and draw the progress."""
        self.read.setdefault(fixture, Counter())[Model._meta.label_lower] += 1
        if self.progress is not None:
            self.progress.tick(fixture)

    def finish(self, result: LoadResult | None) -> None:
        """End the progress line; at verbosity 2, say what was loaded."""
        if self.progress is not None:
            self.progress.finish()
        if result is None or self.stdout is None or self.verbosity < 2:
            return
        lines = [f"    {loaded_line(result)}"]
        for fixture, counts in self.read.items():
            models_read = ", ".join(
                f"{label} {count}" for label, count in sorted(counts.items())
            )
            total = sum(counts.values())
            lines.append(
                f"      {short_label(fixture)}: {total} object(s) ({models_read})"
            )
        # The first line ends migrate's "Applying ..." (unless a progress line
        # did); " OK" follows on a line of its own.
        line_in_use = self.progress is None or self.progress.line_in_use
        self.stdout.write(("\n" if line_in_use else "") + "\n".join(lines))


def loaded_line(result: LoadResult) -> str:
    """loaddata's summary line for a load's result."""
    fixtures = len(result.fixtures)
    if result.skipped:
        read = result.objects + result.skipped
        return (
            f"Installed {result.objects} object(s) (of {read}) "
            f"from {fixtures} fixture(s)"
        )
    return f"Installed {result.objects} object(s) from {fixtures} fixture(s)"
