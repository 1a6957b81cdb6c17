"""
Write a Django project with a long migration history, for the benchmark of
migration tests (migration_tests.py).

    python bench/migration_project.py 300 -o /tmp/migproject

The project, deterministic for a number of migrations and a seed: a package
``migbench`` (settings) and five apps whose migrations, interleaved as a
team's would be, create and delete models, add, rename and remove fields,
add foreign keys to models of the other apps (with the dependencies that
needs), and migrate data with ``RunPython`` (an update and an insert) and
with ``LoadFixture`` (a small fixture file of the app's own). Every model
keeps a ``name`` field, which the benchmark's tests write and read back.

Beside the apps, ``manifest.json`` lists every app's migrations and the
models each of them leaves, for picking the states to test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
APPS = ("ledger", "stock", "people", "orders", "notes")


def generator_version() -> str:
    """A hash of the code that decides the project's content."""
    return hashlib.sha256((HERE / "migration_project.py").read_bytes()).hexdigest()[:16]


# --- the history, as data ----------------------------------------------------------


@dataclass
class Model:
    app: str
    name: str
    # field name -> kind: "char", "int" or "fk:app.Model"
    fields: dict[str, str] = field(default_factory=dict)
    referenced: bool = False  # ever the target of a foreign key: never deleted

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"


@dataclass
class MigrationFile:
    app: str
    name: str
    dependencies: list[tuple[str, str]]
    operations: list[str]  # source of each operation
    functions: list[str] = field(default_factory=list)  # RunPython code
    fixtures: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    models_after: list[str] = field(default_factory=list)


class History:
    """Generates the migrations one at a time, tracking the models' state."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.models: dict[str, dict[str, Model]] = {app: {} for app in APPS}
        self.latest: dict[str, str | None] = dict.fromkeys(APPS)
        self.number = dict.fromkeys(APPS, 0)
        self.counter = 0
        self.migrations: list[MigrationFile] = []

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def generate(self, total: int) -> list[MigrationFile]:
        for app in APPS:  # Each app starts with two models.
            self.add(app, ["create", "create"])
        while len(self.migrations) < total:
            app = self.rng.choice(APPS)
            kinds = self.rng.choices(
                ["create", "add", "rename", "remove", "delete", "runpython", "fixture"],
                weights=[12, 30, 15, 10, 5, 15, 13],
                k=self.rng.choice([1, 1, 2, 3]),
            )
            # Data and schema changes in one migration fail on PostgreSQL
            # ("pending trigger events"): projects keep them apart.
            data = [kind for kind in kinds if kind in ("runpython", "fixture")]
            kinds = data or kinds
            self.add(app, kinds)
        return self.migrations

    def add(self, app: str, kinds: list[str]) -> None:
        self.number[app] += 1
        name = f"{self.number[app]:04d}_{'_'.join(dict.fromkeys(kinds))}"
        previous = self.latest[app]
        deps = {(app, previous)} if previous else set()
        migration = MigrationFile(app, name, [], [])
        for kind in kinds:
            getattr(self, f"op_{kind}")(app, migration, deps)
        migration.dependencies = sorted(deps)
        migration.models_after = sorted(self.models[app])
        self.latest[app] = name
        self.migrations.append(migration)

    # --- operations: each appends its source to the migration ------------------

    def some_model(self, app: str) -> Model | None:
        models = sorted(self.models[app])
        return self.models[app][self.rng.choice(models)] if models else None

    def fk_target(self, app: str, deps: set[tuple[str, str]]) -> Model:
        """A model of another app (same app one time in four) to point at."""
        others = [a for a in APPS if a != app and self.models[a]]
        target_app = app if not others or self.rng.random() < 0.25 else None
        if target_app is None:
            target_app = self.rng.choice(others)
        target = self.some_model(target_app)
        if target is None:  # The app's own first model, being created now.
            target_app, target = app, self.some_model(app)
        assert target is not None
        target.referenced = True
        if target_app != app:
            latest = self.latest[target_app]
            assert latest is not None
            deps.add((target_app, latest))
        return target

    def field_source(self, kind: str) -> str:
        if kind == "char":
            return "models.CharField(max_length=100, default='')"
        if kind == "int":
            return "models.IntegerField(default=0)"
        target = kind.removeprefix("fk:")
        return (
            f"models.ForeignKey(null=True, blank=True, to={target!r}, "
            "on_delete=django.db.models.deletion.SET_NULL, related_name='+')"
        )

    def op_create(self, app: str, migration: MigrationFile, deps: set) -> None:
        model = Model(app, self.fresh(app.capitalize()))
        model.fields["name"] = "char"
        model.fields[self.fresh("amount")] = "int"
        if self.models[app] and self.rng.random() < 0.5:
            model.fields[self.fresh("link")] = "fk:" + self.fk_target(app, deps).label
        self.models[app][model.name] = model
        fields = ",\n                ".join(
            [
                "('id', models.BigAutoField(auto_created=True, primary_key=True, "
                "serialize=False, verbose_name='ID'))"
            ]
            + [f"({n!r}, {self.field_source(k)})" for n, k in model.fields.items()]
        )
        migration.operations.append(
            f"migrations.CreateModel(\n            name={model.name!r},\n"
            f"            fields=[\n                {fields},\n"
            "            ],\n        )"
        )

    def op_add(self, app: str, migration: MigrationFile, deps: set) -> None:
        model = self.some_model(app)
        if model is None:
            return self.op_create(app, migration, deps)
        roll = self.rng.random()
        if roll < 0.3:
            kind, name = "fk:" + self.fk_target(app, deps).label, self.fresh("link")
        elif roll < 0.65:
            kind, name = "char", self.fresh("title")
        else:
            kind, name = "int", self.fresh("amount")
        model.fields[name] = kind
        migration.operations.append(
            f"migrations.AddField(model_name={model.name.lower()!r}, name={name!r}, "
            f"field={self.field_source(kind)})"
        )

    def changeable_fields(self, model: Model) -> list[str]:
        return [name for name in model.fields if name != "name"]

    def op_rename(self, app: str, migration: MigrationFile, deps: set) -> None:
        model = self.some_model(app)
        names = self.changeable_fields(model) if model else []
        if model is None or not names:
            return self.op_add(app, migration, deps)
        old = self.rng.choice(names)
        new = self.fresh(old.rstrip("0123456789"))
        model.fields = {new if n == old else n: k for n, k in model.fields.items()}
        migration.operations.append(
            f"migrations.RenameField(model_name={model.name.lower()!r}, "
            f"old_name={old!r}, new_name={new!r})"
        )

    def op_remove(self, app: str, migration: MigrationFile, deps: set) -> None:
        model = self.some_model(app)
        names = self.changeable_fields(model) if model else []
        if model is None or len(names) < 2:
            return self.op_add(app, migration, deps)
        name = self.rng.choice(names)
        del model.fields[name]
        migration.operations.append(
            f"migrations.RemoveField(model_name={model.name.lower()!r}, name={name!r})"
        )

    def op_delete(self, app: str, migration: MigrationFile, deps: set) -> None:
        candidates = sorted(n for n, m in self.models[app].items() if not m.referenced)
        if len(self.models[app]) < 3 or not candidates:
            return self.op_create(app, migration, deps)
        name = self.rng.choice(candidates)
        del self.models[app][name]
        migration.operations.append(f"migrations.DeleteModel(name={name!r})")

    def op_runpython(self, app: str, migration: MigrationFile, deps: set) -> None:
        model = self.some_model(app)
        assert model is not None
        ints = [n for n, k in model.fields.items() if k == "int"]
        function = self.fresh("forwards_")
        body = [
            f"    Model = apps.get_model({app!r}, {model.name!r})",
            f"    Model.objects.create(name={f'made by {migration.name}'!r})",
        ]
        if ints:
            body.append(f"    Model.objects.update({ints[0]}=F({ints[0]!r}) + 1)")
        migration.functions.append(
            f"def {function}(apps, schema_editor):\n" + "\n".join(body)
        )
        migration.operations.append(
            f"migrations.RunPython({function}, migrations.RunPython.noop)"
        )

    def op_fixture(self, app: str, migration: MigrationFile, deps: set) -> None:
        model = self.some_model(app)
        assert model is not None
        label = f"{app}_{migration.name}_{len(migration.fixtures)}"
        objects = []
        for j in range(3):
            values: dict[str, Any] = {}
            for name, kind in model.fields.items():
                if kind == "char":
                    values[name] = f"{label} {j}"
                elif kind == "int":
                    values[name] = j
                else:
                    values[name] = None
            objects.append(
                {
                    "model": model.label.lower(),
                    "pk": 100_000 + 10 * len(self.migrations) + j,
                    "fields": values,
                }
            )
        migration.fixtures[label] = objects
        migration.operations.append(f"LoadFixture({label!r})")


# --- writing ------------------------------------------------------------------------


SETTINGS = '''\
"""Settings of the generated project (bench/migration_project.py).

BENCH_DB=sqlite (an in-memory test database, as Django's test runner makes)
or BENCH_DB=postgres with PGDATABASE, PGHOST, PGPORT, PGUSER, PGPASSWORD.
BENCH_STATE_COPIES=0 turns histfixtures' copies of built states off.
"""

import os

SECRET_KEY = "histfixtures-bench-not-a-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["histfixtures", {apps}]

if os.environ.get("BENCH_STATE_COPIES", "1") == "0":
    HISTFIXTURES = {{"STATE_COPIES": False}}

if os.environ.get("BENCH_DB", "sqlite") == "postgres":
    _name = os.environ.get("PGDATABASE", "hf_bench_migrations")
    DATABASES = {{
        "default": {{
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _name,
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "TEST": {{"NAME": _name + "_test"}},
        }}
    }}
else:
    DATABASES = {{
        "default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    }}
'''


def write_migration(directory: Path, migration: MigrationFile) -> None:
    lines = [
        "import django.db.models.deletion",
        "from django.db import migrations, models",
        "from django.db.models import F",
        "",
        "from histfixtures import LoadFixture",
        "",
    ]
    for function in migration.functions:
        lines += ["", function, ""]
    operations = "".join(f"        {op},\n" for op in migration.operations)
    dependencies = "".join(f"        {dep!r},\n" for dep in migration.dependencies)
    lines += [
        "",
        "class Migration(migrations.Migration):",
        f"    initial = {migration.name.startswith('0001_')}",
        "",
        f"    dependencies = [\n{dependencies}    ]",
        "",
        f"    operations = [\n{operations}    ]",
        "",
    ]
    (directory / f"{migration.name}.py").write_text("\n".join(lines))


def write_models(directory: Path, models: dict[str, Model]) -> None:
    history = History(0)
    lines = ["import django.db.models.deletion", "from django.db import models", ""]
    for model in models.values():
        lines += ["", f"class {model.name}(models.Model):"]
        for name, kind in model.fields.items():
            lines.append(f"    {name} = {history.field_source(kind)}")
        lines.append("")
    (directory / "models.py").write_text("\n".join(lines))


def generate(total: int, target: Path, seed: int = 0) -> dict[str, Any]:
    """Write the project into ``target`` (replaced); return its manifest."""
    if total < 2 * len(APPS):
        raise ValueError(f"at least {2 * len(APPS)} migrations, please")
    history = History(seed)
    migrations = history.generate(total)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "migbench").mkdir(parents=True)
    (partial / "migbench" / "__init__.py").write_text("")
    apps = ", ".join(repr(app) for app in APPS)
    (partial / "migbench" / "settings.py").write_text(SETTINGS.format(apps=apps))
    for app in APPS:
        for sub in ("migrations", "fixtures"):
            (partial / app / sub).mkdir(parents=True)
        (partial / app / "__init__.py").write_text("")
        (partial / app / "migrations" / "__init__.py").write_text("")
        write_models(partial / app, history.models[app])
    for migration in migrations:
        write_migration(partial / migration.app / "migrations", migration)
        for label, objects in migration.fixtures.items():
            path = partial / migration.app / "fixtures" / f"{label}.json"
            path.write_text(json.dumps(objects, indent=1) + "\n")
    manifest = {
        "generator": generator_version(),
        "migrations": total,
        "seed": seed,
        "apps": {
            app: [
                {"name": m.name, "models": m.models_after}
                for m in migrations
                if m.app == app
            ]
            for app in APPS
        },
        "counts": {
            "RunPython": sum(len(m.functions) for m in migrations),
            "LoadFixture": sum(len(m.fixtures) for m in migrations),
            "cross-app dependencies": sum(
                1 for m in migrations for app, _ in m.dependencies if app != m.app
            ),
        },
    }
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return manifest


def project_for(total: int, seed: int, data_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The generated project, reused if this generator wrote it."""
    target = data_dir / f"migproject-{total}-seed{seed}"
    manifest_path = target / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("generator") == generator_version():
            return target, manifest
    return target, generate(total, target, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("migrations", type=int, help="number of migrations (300)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        manifest = generate(args.migrations, args.output, args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    per_app = ", ".join(f"{app} {len(m)}" for app, m in manifest["apps"].items())
    print(f"wrote {args.output}: {per_app}; {manifest['counts']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
