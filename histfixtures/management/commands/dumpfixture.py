"""
``manage.py dumpfixture``: dumpdata that records the migration state.

Every option of dumpdata works as in dumpdata. The fixture also records
the latest migration applied of each app dumped (see
``histfixtures.stamps``), where ``loaddata`` ignores it, so that
``upgradefixture`` can later bring the fixture to a newer state. A database
that is not fully migrated is dumped with the historical models of its
state, which the live models would not fit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

from django.apps import apps as live_apps
from django.core.management.base import CommandError, OutputWrapper
from django.core.management.commands import dumpdata

from histfixtures.dumping import select_models, serialize
from histfixtures.stamps import (
    STAMPED_FORMATS,
    AppliedState,
    Stamp,
    StampingStream,
    describe,
    open_output,
)


class Command(dumpdata.Command):
    help = (
        "Output the contents of the database as a fixture of the given format, "
        "as dumpdata does, recording the migration state the data is at so "
        "that upgradefixture can bring the fixture to a later state."
    )

    def handle(self, *app_labels: str, **options: Any) -> None:
        state = AppliedState(options["database"])
        involved = self.involved_apps(app_labels, options["exclude"], state)
        stamp = state.stamp(involved)
        with self.destination(options["output"]) as stream:
            stamping = StampingStream(
                stream, options["format"], stamp, options["indent"]
            )
            if state.is_complete(involved):
                self.dump_live(stamping, app_labels, options)
            else:
                self.dump_at_state(stamping, state, stamp, app_labels, options)
            stamped = stamping.finish()
        if not stamped:
            self.warn_unstamped(options["format"], stamp)

    def involved_apps(
        self, app_labels: Sequence[str], exclude: Sequence[str], state: AppliedState
    ) -> list[str]:
        """The migrated apps whose data is dumped: those the stamp covers."""
        if app_labels:
            labels = [label.partition(".")[0] for label in app_labels]
        else:
            labels = [
                config.label
                for config in live_apps.get_app_configs()
                if config.models_module is not None
            ]
        excluded = set(exclude)
        return [
            label
            for label in dict.fromkeys(labels)
            if label not in excluded and label in state.loader.migrated_apps
        ]

    @contextmanager
    def destination(self, output: str | None) -> Iterator[IO[str] | OutputWrapper]:
        if not output:
            self.stdout.ending = None  # type: ignore[assignment]
            yield self.stdout
            return
        stream, _ = open_output(output)
        with stream:
            yield stream

    def dump_live(
        self, stream: StampingStream, app_labels: Sequence[str], options: Any
    ) -> None:
        """Run dumpdata itself, writing through the stamping stream."""
        stdout = self.stdout
        self.stdout = OutputWrapper(stream)  # type: ignore[arg-type]
        try:
            super().handle(*app_labels, **{**options, "output": None})
        finally:
            self.stdout = stdout

    def dump_at_state(
        self,
        stream: StampingStream,
        state: AppliedState,
        stamp: Stamp,
        app_labels: Sequence[str],
        options: Any,
    ) -> None:
        """Dump with the historical models of the state the database is at."""
        if options["use_natural_foreign_keys"] or options["use_natural_primary_keys"]:
            raise CommandError(
                f"The database is at {describe(stamp)}, not the latest state, so "
                "it is dumped with historical models, which have no natural_key(). "
                "Dump without --natural-foreign/--natural-primary, or migrate first."
            )
        pks = options["primary_keys"]
        primary_keys = [pk.strip() for pk in pks.split(",")] if pks else []
        apps = state.project_state().apps
        Models = select_models(
            apps, app_labels, exclude=options["exclude"], primary_keys=primary_keys
        )
        try:
            serialize(
                options["format"],
                Models,
                stream,  # type: ignore[arg-type]
                using=options["database"],
                indent=options["indent"],
                use_base_manager=options["use_base_manager"],
                primary_keys=primary_keys,
            )
        except CommandError:
            raise
        except Exception as exc:
            if options["traceback"]:
                raise
            raise CommandError(f"Unable to serialize database: {exc}") from exc

    def warn_unstamped(self, format: str, stamp: Stamp) -> None:
        if not stamp:
            reason = "none of the apps dumped has a migration applied"
        elif format not in STAMPED_FORMATS:
            reason = f"the {format} format has no place for it"
        else:
            reason = "the fixture holds no objects"
        self.stderr.write(
            f"No migration state recorded in the fixture: {reason}. "
            "upgradefixture will need --from.",
            self.style.WARNING,
        )
