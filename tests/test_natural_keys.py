"""
Natural keys at historical states (SPEC section 2), with the members app.

The members app refers to users, groups, permissions, clubs and members by
natural key, as ``dumpdata --natural-foreign --natural-primary`` writes them:
groups whose permissions do not exist yet while ``migrate`` runs (0002), users,
clubs keyed by a field renamed later, and members keyed by a manager with
``use_in_migrations`` (0003, JSON and XML). See testproject/README.md.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps.registry import Apps
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal
from django.core.serializers.base import DeserializationError
from django.db import DatabaseError, connection, models
from django.db.migrations.state import ModelState, ProjectState

import histfixtures
from histfixtures import (
    InvalidValueError,
    LoadFixture,
    NaturalKeyError,
    historical_models,
)
from members.models import Club, Member
from tests.utils import (
    Node,
    apply_as_migration,
    apps_at,
    executor,
    migrate,
    migrate_to_latest,
    plain_loaddata,
    run_operation,
    run_python,
    state_at,
)

AUTH_LATEST: Node = ("auth", "0012_alter_user_first_name_max_length")
MEMBERS_0001: Node = ("members", "0001_initial")
MEMBERS_0002: Node = ("members", "0002_load_groups")
MEMBERS_0003: Node = ("members", "0003_load_members")
MEMBERS_LATEST: Node = ("members", "0004_club_title_and_joined")
# The name apply_as_migration gives the migration it runs.
TEST_STATE = "members.9999_test"
# The key that members 0003 declares for the Club of its state.
CLUB_BY_NAME = {"members.Club": ["name"]}

# The tables natural keys touch, for "database unchanged" assertions.
TABLE_PREFIXES = ("members_", "auth_", "django_content_type")

# handle -> (club, username, mentor, groups), at the latest state.
MEMBERS = {
    "ada": ("Chess Club", "ada", None, {"editors"}),
    "bob": ("Book Club", "bob", "ada", set()),
    "grace": ("Go Club", "grace", "ada", {"editors", "organisers"}),
}
# username -> (first_name, email, groups, user_permissions)
USERS = {
    "ada": ("Ada", "ada@example.com", {"editors"}, set()),
    "bob": ("Bob", "bob@example.com", set(), {("change_club", "members", "club")}),
    "grace": (
        "Grace",
        "grace@example.com",
        {"organisers"},
        {("view_club", "members", "club")},
    ),
}
GROUPS = {
    "editors": {
        ("add_club", "members", "club"),
        ("change_member", "members", "member"),
        ("view_user", "auth", "user"),
    },
    "organisers": {
        ("add_member", "members", "member"),
        ("delete_member", "members", "member"),
    },
}
# (codename, app_label, model) -> the name Django's create_permissions gives.
GROUP_PERMISSION_NAMES = {
    ("add_club", "members", "club"): "Can add club",
    ("change_member", "members", "member"): "Can change member",
    ("view_user", "auth", "user"): "Can view user",
    ("add_member", "members", "member"): "Can add member",
    ("delete_member", "members", "member"): "Can delete member",
}


# -- Helpers ------------------------------------------------------------------


def members_snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the members_, auth_ and content type tables."""
    tables = sorted(
        table
        for table in connection.introspection.table_names()
        if table.startswith(TABLE_PREFIXES)
    )
    rows = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows[table] = sorted(cursor.fetchall(), key=repr)
    return rows


def delete_rows(*tables: str) -> None:
    """
    Delete every row of ``tables`` with SQL, in the order given. MySQL and
    MariaDB check a self foreign key (Member.mentor) row by row during the
    DELETE, so there the checks are switched off as loaddata switches them.
    """
    with connection.constraint_checks_disabled(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
    ContentType.objects.clear_cache()


def forget_auth_rows() -> None:
    """Remove every user, group, permission and content type: a fresh database."""
    delete_rows(
        "auth_user_groups",
        "auth_user_user_permissions",
        "auth_group_permissions",
        "auth_user",
        "auth_group",
        "auth_permission",
        "django_content_type",
    )


def forget_members_rows() -> None:
    """Remove every club and member, so that unapplying members unloads nothing."""
    tables = set(connection.introspection.table_names())
    delete_rows(
        *[
            table
            for table in ("members_member_groups", "members_member", "members_club")
            if table in tables
        ]
    )


def members_migrated_afresh(target: Node, *, forget_auth: bool = False) -> None:
    """
    Unapply members entirely, then migrate it to ``target`` again.

    The clubs and members left by earlier tests are deleted first: this is a
    setup step, and unloading them is what other tests check.
    """
    forget_members_rows()
    migrate(("members", "zero"))
    if forget_auth:
        forget_auth_rows()
    migrate(target)


def state_after(node: Node) -> ProjectState:
    """The state after a members migration, auth and contenttypes at latest."""
    return state_at(node, AUTH_LATEST)


def write_json(directory: Path, name: str, objects: list[dict[str, Any]]) -> Path:
    path = directory / name
    path.write_text(json.dumps(objects, indent=2), encoding="utf-8")
    return path


def member(handle: str, club: Any, **fields: Any) -> dict[str, Any]:
    """A Member object of the 0003 state, without pk, as dumpdata writes it."""
    return {
        "model": "members.member",
        "fields": {"handle": handle, "club": club, **fields},
    }


def club(name: str) -> dict[str, Any]:
    """A Club object of the 0003 state, without pk."""
    return {"model": "members.club", "fields": {"name": name}}


def load_at_0003(operation: LoadFixture) -> None:
    """Apply ``operation`` as migration members.9999_test after members 0003."""
    apply_as_migration([operation], "members", state_after(MEMBERS_0003))


def expect_natural_key_error(operation: LoadFixture) -> NaturalKeyError:
    """Run the load after members 0003; expect NaturalKeyError, nothing written."""
    before = members_snapshot()
    with pytest.raises(NaturalKeyError) as info:
        load_at_0003(operation)
    assert members_snapshot() == before
    error = info.value
    assert error.state == TEST_STATE
    assert f"migration state: {TEST_STATE}" in str(error)
    return error


def historical(node: Node, model: str) -> Any:
    """A historical model of the state after a members migration."""
    return apps_at(node, AUTH_LATEST).get_model("members", model)


def permission_keys(permissions: Any) -> set[tuple[str, str, str]]:
    return {
        (p.codename, p.content_type.app_label, p.content_type.model)
        for p in permissions
    }


def assert_no_duplicate_permissions_or_content_types() -> None:
    pairs = list(Permission.objects.values_list("content_type", "codename"))
    assert len(pairs) == len(set(pairs))
    keys = list(ContentType.objects.values_list("app_label", "model"))
    assert len(keys) == len(set(keys))


def assert_django_permission_names() -> None:
    """Every permission of members' models has the name Django gives it."""
    for model in (Club, Member):
        content_type = ContentType.objects.get_for_model(model)
        names = dict(
            Permission.objects.filter(content_type=content_type).values_list(
                "codename", "name"
            )
        )
        model_name = model._meta.model_name
        assert names == {
            f"{action}_{model_name}": f"Can {action} {model_name}"
            for action in ("add", "change", "delete", "view")
        }


@pytest.fixture
def members_restored(migrations_restored: None) -> Iterator[None]:
    """
    ``migrations_restored``, with members brought back to its latest state first.

    migrations_restored flushes every table (groups included) and rebuilds
    only library and shop from zero; members is rebuilt from zero here, since
    its 0003 needs the groups of its 0002.
    """
    yield
    forget_members_rows()
    migrate(("members", "zero"))
    migrate_to_latest()


@pytest.fixture
def fresh_members(members_restored: None) -> None:
    """Members migrated from zero to the latest state on a fresh auth database."""
    members_migrated_afresh(MEMBERS_LATEST, forget_auth=True)


@pytest.fixture
def at_0003(members_restored: None) -> None:
    """Members freshly migrated to 0003: Club.name, no Member.joined."""
    members_migrated_afresh(MEMBERS_0003)


# -- A fresh migrate ----------------------------------------------------------


def test_fresh_migrate_links_members_to_clubs_users_mentors_and_groups(
    fresh_members: None,
) -> None:
    members = {
        m.handle: (
            m.club.title,
            m.user.username if m.user else None,
            m.mentor.handle if m.mentor else None,
            {g.name for g in m.groups.all()},
        )
        for m in Member.objects.select_related("club", "user", "mentor")
    }
    assert members == MEMBERS
    assert set(Member.objects.values_list("joined", flat=True)) == {
        datetime.date(2024, 1, 1)
    }
    assert sorted(Club.objects.values_list("title", flat=True)) == [
        "Book Club",
        "Chess Club",
        "Go Club",
    ]


def test_fresh_migrate_loads_users_by_natural_primary_key(
    fresh_members: None,
) -> None:
    users = {
        u.username: (
            u.first_name,
            u.email,
            {g.name for g in u.groups.all()},
            permission_keys(u.user_permissions.all()),
        )
        for u in User.objects.all()
    }
    assert users == USERS
    assert not any(u.has_usable_password() for u in User.objects.all())


def test_fresh_migrate_gives_groups_their_permissions_with_the_right_content_types(
    fresh_members: None,
) -> None:
    groups = {g.name: permission_keys(g.permissions.all()) for g in Group.objects.all()}
    assert groups == GROUPS
    assert_no_duplicate_permissions_or_content_types()
    assert_django_permission_names()
    assert Permission.objects.get(codename="view_user").name == "Can view user"


# -- Group <-> Permission where no ContentType exists yet ---------------------


def test_groups_load_at_auth_0001_and_post_migrate_creates_no_duplicate(
    members_restored: None,
) -> None:
    # A database where only members and what it depends on are migrated: auth
    # at 0001, no content type, no permission.
    forget_members_rows()
    migrate(("auth", "zero"))
    delete_rows("django_content_type")
    # The executor runs no post_migrate handler: the rows that exist now are
    # the ones the load created.
    executor().migrate([MEMBERS_0002])

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id, p.codename, ct.app_label, ct.model, p.name "
            "FROM auth_permission p "
            "JOIN django_content_type ct ON ct.id = p.content_type_id"
        )
        created = {(c, a, m): (pk, name) for pk, c, a, m, name in cursor.fetchall()}
    assert {key: name for key, (_, name) in created.items()} == GROUP_PERMISSION_NAMES
    assert set(ContentType.objects.values_list("app_label", "model")) == {
        ("members", "club"),
        ("members", "member"),
        ("auth", "user"),
    }
    GroupAt0001 = apps_at(MEMBERS_0002).get_model("auth", "Group")
    groups = {
        g.name: {p.codename for p in g.permissions.all()}
        for g in GroupAt0001.objects.all()
    }
    assert groups == {
        name: {codename for codename, _, _ in keys} for name, keys in GROUPS.items()
    }

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

    assert_no_duplicate_permissions_or_content_types()
    assert_django_permission_names()
    for (codename, app_label, model), (pk, name) in created.items():
        permission = Permission.objects.get(pk=pk)
        assert permission.codename == codename
        assert permission.name == name
        assert permission.content_type.natural_key() == (app_label, model)


def test_post_migrate_after_loading_on_a_database_without_content_types(
    members_restored: None,
) -> None:
    forget_members_rows()
    migrate(("members", "zero"))
    forget_auth_rows()
    executor().migrate([MEMBERS_LATEST])

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

    assert_no_duplicate_permissions_or_content_types()
    assert_django_permission_names()
    groups = {g.name: permission_keys(g.permissions.all()) for g in Group.objects.all()}
    assert groups == GROUPS


# -- Controls: the same migrations written with plain loaddata ----------------


def test_plain_loaddata_of_the_groups_fails_without_content_types(
    members_restored: None,
) -> None:
    members_migrated_afresh(MEMBERS_0001)
    # As on a fresh database while migrate runs: post_migrate has not run yet.
    forget_auth_rows()
    state = state_after(MEMBERS_0001)

    # Django's PermissionManager looks the content type up and finds none.
    with pytest.raises(
        DeserializationError,
        match=r"(ContentType|Permission) matching query does not exist",
    ):
        run_operation(run_python(plain_loaddata("members_groups")), "members", state)
    assert not Group.objects.exists()

    run_operation(LoadFixture("members_groups"), "members", state)
    groups = {g.name: permission_keys(g.permissions.all()) for g in Group.objects.all()}
    assert groups == GROUPS


def test_plain_loaddata_of_the_members_fails_at_0003(
    members_restored: None,
) -> None:
    members_migrated_afresh(MEMBERS_0002)
    state = state_after(MEMBERS_0002)
    code = plain_loaddata("members_initial")

    # The live Club's field is "title": "name" is renamed in 0004.
    with pytest.raises(
        (DeserializationError, FieldDoesNotExist),
        match="Club has no field named 'name'",
    ):
        run_operation(run_python(code), "members", state)
    # Skipping unknown fields, the live Club writes a column that does not
    # exist yet.
    code = plain_loaddata("members_initial", ignorenonexistent=True)
    with pytest.raises((DatabaseError, DeserializationError), match="title"):
        run_operation(run_python(code), "members", state)
    assert not User.objects.filter(username__in=USERS).exists()


# -- Only the rows Django would create are created on demand (issue 13) -----

AT_0001 = "members.9999_test"


@pytest.fixture
def fresh_auth_at_0001(members_restored: None) -> None:
    """Members at 0001 while migrate runs: no content type, no permission yet."""
    members_migrated_afresh(MEMBERS_0001)
    forget_auth_rows()


def group_with_permission(key: list[str]) -> list[dict[str, Any]]:
    return [{"model": "auth.group", "fields": {"name": "typos", "permissions": [key]}}]


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        pytest.param(
            ["add_club", "nosuchapp", "nosuchmodel"],
            "nosuchapp.nosuchmodel is no model at this migration state",
            id="no-such-model",
        ),
        pytest.param(
            ["ad_club", "members", "club"],
            "members.Club has no permission 'ad_club' at this migration state, so "
            "none is created; its permissions are: add_club, change_club, "
            "delete_club, view_club.",
            id="no-such-codename",
        ),
        pytest.param(
            ["add_club", "members", "Club"],
            "members.Club is not how a content type names members.Club (the "
            "model name in lower case: 'club')",
            id="model-name-not-lower-case",
        ),
        pytest.param(
            ["add_member_groups", "members", "member_groups"],
            "members.Member_groups has no content type at this migration state",
            id="auto-created-link-model",
        ),
    ],
)
def test_a_permission_django_would_not_create_is_a_natural_key_error(
    fresh_auth_at_0001: None, tmp_path: Path, key: list[str], reason: str
) -> None:
    path = write_json(tmp_path, "typo.json", group_with_permission(key))
    before = members_snapshot()

    with pytest.raises(NaturalKeyError) as info:
        apply_as_migration(
            [LoadFixture(str(path))], "members", state_after(MEMBERS_0001)
        )

    assert members_snapshot() == before
    error = info.value
    assert (error.fixture, error.index, error.model, error.field, error.value) == (
        str(path),
        0,
        "auth.Group",
        "permissions",
        key,
    )
    assert error.state == AT_0001
    message = str(error)
    assert f"No auth.Permission matches the natural key {key!r}" in message
    assert reason in message
    for detail in (str(path), "index 0", "field: permissions", AT_0001):
        assert detail in message


def test_a_content_type_django_would_not_create_is_a_natural_key_error(
    fresh_auth_at_0001: None, tmp_path: Path
) -> None:
    objects = [
        {
            "model": "auth.permission",
            "fields": {
                "codename": "frobnicate",
                "name": "Can frobnicate",
                "content_type": ["nosuchapp", "nosuchmodel"],
            },
        }
    ]
    path = write_json(tmp_path, "content_type_typo.json", objects)
    before = members_snapshot()

    with pytest.raises(NaturalKeyError) as info:
        apply_as_migration(
            [LoadFixture(str(path))], "members", state_after(MEMBERS_0001)
        )

    assert members_snapshot() == before
    error = info.value
    assert (error.fixture, error.index, error.field, error.value) == (
        str(path),
        0,
        "content_type",
        ["nosuchapp", "nosuchmodel"],
    )
    assert error.state == AT_0001
    assert "nosuchapp.nosuchmodel is no model at this migration state" in str(error)


def test_the_permissions_django_would_create_still_are_with_their_content_type(
    fresh_auth_at_0001: None, tmp_path: Path
) -> None:
    path = write_json(
        tmp_path, "ok.json", group_with_permission(["view_club", "members", "club"])
    )

    apply_as_migration([LoadFixture(str(path))], "members", state_after(MEMBERS_0001))

    assert permission_keys(Group.objects.get(name="typos").permissions.all()) == {
        ("view_club", "members", "club")
    }
    assert set(ContentType.objects.values_list("app_label", "model")) == {
        ("members", "club")
    }
    assert Permission.objects.get().name == "Can view club"


@pytest.mark.parametrize(
    "key",
    [
        ["add_club", "nosuchapp", "nosuchmodel"],
        ["ad_club", "members", "club"],
        pytest.param(
            ["add_club", "members", "Club"],
            marks=pytest.mark.skipif(
                "connection.vendor == 'mysql'",
                reason="MySQL/MariaDB: the case-insensitive collation finds "
                "'Club' as 'club', for loaddata as for histfixtures",
            ),
        ),
    ],
)
def test_plain_loaddata_refuses_a_permission_key_with_a_typo_too(
    db: None, tmp_path: Path, key: list[str]
) -> None:
    # The control: every content type and permission of the latest state
    # exists, and loaddata still finds none for the key.
    path = write_json(tmp_path, "typo.json", group_with_permission(key))

    with pytest.raises(DeserializationError, match="matching query does not exist"):
        call_command("loaddata", str(path), verbosity=0)

    assert not Group.objects.filter(name="typos").exists()
    assert not ContentType.objects.filter(app_label="nosuchapp").exists()


# -- Re-running and unapplying ------------------------------------------------


def test_loading_again_matches_every_object_by_natural_key(at_0003: None) -> None:
    before = members_snapshot()
    assert before["members_member"]
    migrate(MEMBERS_0002, fake=True)

    migrate(MEMBERS_0003)

    assert members_snapshot() == before


def test_many_to_many_natural_keys_may_refer_forwards(
    at_0003: None, tmp_path: Path
) -> None:
    # The member's only many-to-many value waits for a group that comes later.
    objects = [
        member("fwd", ["Chess Club"], groups=[["fwd-late"]]),
        {"model": "auth.group", "fields": {"name": "fwd-late"}},
    ]
    path = write_json(tmp_path, "forwards.json", objects)

    load_at_0003(LoadFixture(str(path), natural_keys=CLUB_BY_NAME))

    MemberAt0003 = historical(MEMBERS_0003, "Member")
    groups = MemberAt0003.objects.get(handle="fwd").groups.values_list("name")
    assert list(groups) == [("fwd-late",)]


def test_unapplying_removes_the_objects_loaded_by_natural_key(at_0003: None) -> None:
    groups_before = list(Group.objects.order_by("pk").values_list("pk", "name"))

    migrate(MEMBERS_0002)

    assert not User.objects.filter(username__in=USERS).exists()
    assert not historical(MEMBERS_0002, "Club").objects.exists()
    assert not historical(MEMBERS_0002, "Member").objects.exists()
    assert list(Group.objects.order_by("pk").values_list("pk", "name")) == (
        groups_before
    )

    migrate(MEMBERS_0001)

    assert not Group.objects.filter(name__in=GROUPS).exists()


def test_unapplying_from_the_latest_state_removes_the_loaded_objects(
    members_restored: None,
) -> None:
    members_migrated_afresh(MEMBERS_LATEST)

    migrate(MEMBERS_0002)

    assert not User.objects.filter(username__in=USERS).exists()
    assert not historical(MEMBERS_0002, "Club").objects.exists()
    assert not historical(MEMBERS_0002, "Member").objects.exists()
    assert set(Group.objects.values_list("name", flat=True)) == set(GROUPS)


# -- Bad input ----------------------------------------------------------------


def test_reference_to_a_model_without_natural_key_names_option_and_setting(
    at_0003: None, tmp_path: Path
) -> None:
    path = write_json(tmp_path, "no_key.json", [member("zed", ["Chess Club"])])

    error = expect_natural_key_error(LoadFixture(str(path)))

    assert error.fixture == str(path)
    assert error.index == 0
    assert error.model is not None
    assert error.model.lower() == "members.member"
    assert error.field == "club"
    message = str(error)
    assert "members.Club has no natural key at this migration state" in message
    assert "natural_keys option" in message
    assert 'settings.HISTFIXTURES["NATURAL_KEYS"]' in message
    assert '{"members.Club": ["field", ...]}' in message


def test_key_matching_no_row_names_model_key_and_object(
    at_0003: None, tmp_path: Path
) -> None:
    objects = [club("Shogi Club"), member("zed", ["Nope Club"])]
    path = write_json(tmp_path, "no_row.json", objects)

    error = expect_natural_key_error(LoadFixture(str(path), natural_keys=CLUB_BY_NAME))

    assert error.fixture == str(path)
    assert error.index == 1
    assert "index 1" in str(error)
    assert error.model == "members.Member"
    assert error.field == "club"
    assert error.value == ["Nope Club"]
    assert "No members.Club matches the natural key ['Nope Club']" in str(error)


def test_nullable_key_matching_no_row_names_model_key_and_object(
    at_0003: None, tmp_path: Path
) -> None:
    # A nullable foreign key may point forwards: it is resolved at the end.
    objects = [club("Shogi Club"), member("zed", ["Shogi Club"], user=["nobody"])]
    path = write_json(tmp_path, "no_user.json", objects)

    error = expect_natural_key_error(LoadFixture(str(path), natural_keys=CLUB_BY_NAME))

    assert error.fixture == str(path)
    assert error.index == 1
    assert error.model == "members.Member"
    assert error.field == "user"
    assert error.value == ["nobody"]
    assert "No auth.User matches the natural key ['nobody']" in str(error)


def test_error_reports_no_pk_for_an_object_without_one(
    at_0003: None, tmp_path: Path
) -> None:
    # The object has no pk in the fixture, and the row inserted for it is
    # rolled back: a pk in the message would name a row that does not exist.
    objects = [member("zed", ["Chess Club"], user=["nobody"])]
    path = write_json(tmp_path, "no_user.json", objects)

    error = expect_natural_key_error(LoadFixture(str(path), natural_keys=CLUB_BY_NAME))

    assert error.index == 0
    assert error.pk is None
    assert "index 0 (pk=None)" in str(error)


def test_key_matching_several_rows_says_so_with_their_pks(
    at_0003: None, tmp_path: Path
) -> None:
    pks = {User.objects.create_user(f"sam{n}", first_name="Sam").pk for n in (1, 2)}
    objects = [member("zed", ["Chess Club"], user=["Sam"])]
    path = write_json(tmp_path, "several.json", objects)
    natural_keys = {**CLUB_BY_NAME, "auth.User": ["first_name"]}

    error = expect_natural_key_error(LoadFixture(str(path), natural_keys=natural_keys))

    assert error.index == 0
    assert error.field == "user"
    pattern = r"matches several auth\.User rows \(pks \[(\d+), (\d+)\]\)"
    match = re.search(pattern, str(error))
    assert match is not None, str(error)
    assert {int(pk) for pk in match.groups()} == pks


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["Chess Club", "extra"], r"has 1 value\(s\) \(name\); got 2"),
        ([{"name": "Chess Club"}], "must be a flat list of values"),
        ([["Chess Club"]], "must be a flat list of values"),
    ],
    ids=["too-long", "dict-in-key", "nested-list"],
)
def test_key_of_the_wrong_shape_is_refused(
    at_0003: None, tmp_path: Path, value: Any, expected: str
) -> None:
    path = write_json(tmp_path, "shape.json", [member("zed", value)])

    error = expect_natural_key_error(LoadFixture(str(path), natural_keys=CLUB_BY_NAME))

    assert re.search(expected, str(error))
    assert error.field == "club"
    assert error.value == value
    assert error.index == 0


def test_a_dict_as_foreign_key_value_is_an_invalid_value(
    at_0003: None, tmp_path: Path
) -> None:
    # Not a natural key (Django writes those as lists): an invalid pk.
    path = write_json(tmp_path, "dict.json", [member("zed", {"name": "Chess Club"})])
    before = members_snapshot()

    with pytest.raises(InvalidValueError) as info:
        load_at_0003(LoadFixture(str(path), natural_keys=CLUB_BY_NAME))

    assert members_snapshot() == before
    error = info.value
    assert type(error) is InvalidValueError
    assert error.state == TEST_STATE
    assert error.index == 0
    assert error.field == "club"
    assert error.value == {"name": "Chess Club"}


def test_many_to_many_key_of_the_wrong_length_is_refused(
    at_0003: None, tmp_path: Path
) -> None:
    objects = [member("zed", ["Chess Club"], groups=[["editors", "extra"]])]
    path = write_json(tmp_path, "m2m_shape.json", objects)

    error = expect_natural_key_error(LoadFixture(str(path), natural_keys=CLUB_BY_NAME))

    assert error.field == "groups"
    assert "auth.Group has 1 value(s) (name); got 2" in str(error)


def test_xml_reference_without_known_key_is_refused(
    at_0003: None, tmp_path: Path
) -> None:
    path = tmp_path / "no_key.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<django-objects version="1.0">\n'
        '  <object model="members.member">\n'
        '    <field name="handle" type="CharField">zed</field>\n'
        '    <field name="club" rel="ManyToOneRel" to="members.club">'
        "<natural>Chess Club</natural></field>\n"
        "  </object>\n"
        "</django-objects>\n",
        encoding="utf-8",
    )

    error = expect_natural_key_error(LoadFixture(str(path)))

    assert error.fixture == str(path)
    assert error.index == 0
    assert error.field == "club"
    assert "members.Club has no natural key" in str(error)


# -- Where keys are declared --------------------------------------------------


def test_setting_declares_a_key(at_0003: None, tmp_path: Path, settings: Any) -> None:
    settings.HISTFIXTURES = {"NATURAL_KEYS": {"members.Club": ["name"]}}
    path = write_json(tmp_path, "by_setting.json", [member("zed", ["Chess Club"])])

    load_at_0003(LoadFixture(str(path)))

    ClubAt0003 = historical(MEMBERS_0003, "Club")
    MemberAt0003 = historical(MEMBERS_0003, "Member")
    chess = ClubAt0003.objects.get(name="Chess Club")
    assert MemberAt0003.objects.get(handle="zed").club_id == chess.pk


def test_option_wins_over_the_setting(
    at_0003: None, tmp_path: Path, settings: Any
) -> None:
    # The setting is written for today's Club; at 0003 its field is "name".
    settings.HISTFIXTURES = {"NATURAL_KEYS": {"members.Club": ["title"]}}
    path = write_json(tmp_path, "option.json", [member("zed", ["Chess Club"])])

    error = expect_natural_key_error(LoadFixture(str(path)))
    assert "names the field 'title', which does not exist" in str(error)

    load_at_0003(LoadFixture(str(path), natural_keys=CLUB_BY_NAME))

    ClubAt0003 = historical(MEMBERS_0003, "Club")
    MemberAt0003 = historical(MEMBERS_0003, "Member")
    chess = ClubAt0003.objects.get(name="Chess Club")
    assert MemberAt0003.objects.get(handle="zed").club_id == chess.pk


def test_option_wins_over_the_built_in_user_key(at_0003: None, tmp_path: Path) -> None:
    objects = [member("zed", ["Chess Club"], user=["ada@example.com"])]
    path = write_json(tmp_path, "by_email.json", objects)
    natural_keys = {**CLUB_BY_NAME, "auth.User": ["email"]}

    load_at_0003(LoadFixture(str(path), natural_keys=natural_keys))

    MemberAt0003 = historical(MEMBERS_0003, "Member")
    assert MemberAt0003.objects.get(handle="zed").user_id == (
        User.objects.get(username="ada").pk
    )


def test_manager_key_resolves_references_and_matches_existing_rows(
    at_0003: None, tmp_path: Path
) -> None:
    # members.Member has no declared key: its historical manager
    # (use_in_migrations) has get_by_natural_key().
    MemberAt0003 = historical(MEMBERS_0003, "Member")
    bob_pk = MemberAt0003.objects.get(handle="bob").pk
    objects = [
        member("zed", ["Chess Club"], mentor=["bob"]),
        member("bob", ["Chess Club"], mentor=["zed"]),
    ]
    path = write_json(tmp_path, "mentors.json", objects)

    load_at_0003(LoadFixture(str(path), natural_keys=CLUB_BY_NAME))

    zed = MemberAt0003.objects.get(handle="zed")
    bob = MemberAt0003.objects.get(handle="bob")
    assert bob.pk == bob_pk
    assert zed.mentor_id == bob.pk
    assert bob.mentor_id == zed.pk


# -- deserialize() and historical_models() ------------------------------------


@pytest.fixture
def latest_apps(db: None) -> Apps:
    return apps_at(MEMBERS_LATEST, AUTH_LATEST)


@pytest.fixture
def shogi_club(db: None) -> Club:
    return Club.objects.create(title="Shogi Club")


def test_deserialize_resolves_keys_declared_by_its_option(
    latest_apps: Apps, shogi_club: Club
) -> None:
    shoji = User.objects.create_user("shoji")
    players = Group.objects.create(name="shogi-players")
    text = json.dumps(
        [
            {"model": "members.club", "fields": {"title": "Shogi Club"}},
            {
                "model": "members.member",
                "fields": {
                    "handle": "shoji",
                    "club": ["Shogi Club"],
                    "user": ["shoji"],
                    "groups": [["shogi-players"]],
                    "joined": "2024-05-01",
                },
            },
        ]
    )

    club_obj, member_obj = histfixtures.deserialize(
        "json", text, apps=latest_apps, natural_keys={"members.Club": ["title"]}
    )

    assert club_obj.object.pk == shogi_club.pk
    assert member_obj.object.club_id == shogi_club.pk
    assert member_obj.object.user_id == shoji.pk
    assert member_obj.m2m_data == {"groups": [players.pk]}
    assert type(member_obj.object) is latest_apps.get_model("members", "Member")


def test_deserialize_without_the_option_knows_no_club_key(
    latest_apps: Apps, shogi_club: Club
) -> None:
    text = json.dumps([{"model": "members.club", "fields": {"title": "Shogi Club"}}])
    (obj,) = histfixtures.deserialize("json", text, apps=latest_apps)
    assert obj.object.pk is None

    text = json.dumps(
        [{"model": "members.member", "fields": {"handle": "x", "club": ["Shogi Club"]}}]
    )
    with pytest.raises(NaturalKeyError, match=r"members\.Club has no natural key"):
        list(histfixtures.deserialize("json", text, apps=latest_apps))


def test_deserialize_without_forward_references_refuses_a_missing_row(
    latest_apps: Apps, shogi_club: Club
) -> None:
    text = json.dumps(
        [{"model": "members.member", "fields": {"handle": "x", "club": ["Nope Club"]}}]
    )
    with pytest.raises(NaturalKeyError) as info:
        list(
            histfixtures.deserialize(
                "json",
                text,
                apps=latest_apps,
                handle_forward_references=False,
                natural_keys={"members.Club": ["title"]},
            )
        )
    assert info.value.index == 0
    assert info.value.field == "club"
    assert "No members.Club matches the natural key ['Nope Club']" in str(info.value)


def test_django_loaddata_in_historical_models_uses_managers_in_migrations(
    at_0003: None, tmp_path: Path
) -> None:
    # Member's and Group's managers set use_in_migrations, so their historical
    # models can be referred to by natural key even by Django's deserializer.
    objects = [
        {"model": "members.club", "pk": 100, "fields": {"name": "Shogi Club"}},
        {
            "model": "members.member",
            "pk": 100,
            "fields": {
                "handle": "sho",
                "club": 100,
                "mentor": ["ada"],
                "groups": [["organisers"]],
            },
        },
    ]
    path = write_json(tmp_path, "django_loaddata.json", objects)
    apps = apps_at(MEMBERS_0003, AUTH_LATEST)

    with historical_models(apps):
        call_command("loaddata", str(path), verbosity=0)

    MemberAt0003 = apps.get_model("members", "Member")
    sho = MemberAt0003.objects.get(pk=100)
    assert sho.mentor.handle == "ada"
    assert [g.name for g in sho.groups.all()] == ["organisers"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        # A historical Club has a plain manager: no get_by_natural_key().
        ({"club": ["Chess Club"]}, "Chess Club"),
        # The historical UserManager reads USERNAME_FIELD, which historical
        # models do not have.
        ({"club": 100, "user": ["ada"]}, "USERNAME_FIELD"),
    ],
    ids=["club-without-manager", "user-manager"],
)
def test_django_loaddata_in_historical_models_cannot_resolve_every_key(
    at_0003: None, tmp_path: Path, fields: dict[str, Any], reason: str
) -> None:
    objects = [
        {"model": "members.club", "pk": 100, "fields": {"name": "Shogi Club"}},
        {"model": "members.member", "pk": 100, "fields": {"handle": "sho", **fields}},
    ]
    path = write_json(tmp_path, "django_loaddata.json", objects)
    before = members_snapshot()

    with (
        historical_models(apps_at(MEMBERS_0003, AUTH_LATEST)),
        pytest.raises(DeserializationError, match=reason),
    ):
        call_command("loaddata", str(path), verbosity=0)

    assert members_snapshot() == before
    # histfixtures resolves both, given the Club's key.
    load_at_0003(LoadFixture(str(path), natural_keys=CLUB_BY_NAME))
    assert historical(MEMBERS_0003, "Member").objects.filter(handle="sho").exists()


# -- A primary key with a default -----------------------------------------------


@pytest.fixture
def badge_apps(transactional_db: None) -> Iterator[Apps]:
    """The latest state plus members.Badge, whose UUID pk has a default."""
    state = state_at(MEMBERS_LATEST)
    state.add_model(
        ModelState(
            "members",
            "Badge",
            [
                ("id", models.UUIDField(primary_key=True, default=uuid.uuid4)),
                ("code", models.CharField(max_length=20, unique=True)),
                ("label", models.CharField(max_length=50)),
            ],
        )
    )
    Badge = state.apps.get_model("members", "Badge")
    with connection.schema_editor() as editor:
        editor.create_model(Badge)
    try:
        yield state.apps
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Badge)


BADGES_JSON = json.dumps(
    [
        {"model": "members.badge", "fields": {"code": "gold", "label": "Gold"}},
        {"model": "members.badge", "fields": {"code": "new", "label": "New"}},
    ]
)
BADGES_XML = """<?xml version="1.0" encoding="utf-8"?>
<django-objects version="1.0">
  <object model="members.badge">
    <field name="code" type="CharField">gold</field>
    <field name="label" type="CharField">Gold</field>
  </object>
  <object model="members.badge">
    <field name="code" type="CharField">new</field>
    <field name="label" type="CharField">New</field>
  </object>
</django-objects>
"""


@pytest.mark.parametrize(("name", "text"), [("json", BADGES_JSON), ("xml", BADGES_XML)])
def test_an_object_without_pk_matches_by_key_though_its_pk_has_a_default(
    badge_apps: Apps, tmp_path: Path, name: str, text: str
) -> None:
    """
    As Django's deserializers do: an object the fixture gives no pk is matched
    by natural key even when the pk field has a default, so loading updates
    the row rather than adding a second one with a fresh UUID.
    """
    Badge = badge_apps.get_model("members", "Badge")
    gold = Badge._base_manager.create(code="gold", label="Old")
    path = tmp_path / f"badges.{name}"
    path.write_text(text, encoding="utf-8")

    histfixtures.load_fixture(
        badge_apps,
        SimpleNamespace(connection=connection),  # type: ignore[arg-type]
        str(path),
        natural_keys={"members.Badge": ["code"]},
    )

    rows = {code: (pk, label) for pk, code, label in Badge._base_manager.values_list()}
    assert rows["gold"] == (gold.pk, "Gold")
    assert set(rows) == {"gold", "new"}
