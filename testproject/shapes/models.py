"""
Models of every shape a fixture can take, for the differential tests.

tests/test_differential.py loads generated fixtures into these tables with
Django's ``loaddata`` (the oracle) and with each path of histfixtures, and
compares the rows. The app has one migration and no fixtures of its own:
the models cover every built-in concrete field type and the structures the
engine treats apart (inheritance, proxies, a pk that is a relation, natural
keys unique / not unique / through a foreign key, link tables, a generic
relation, a table without a primary key constraint, a composite primary key,
database defaults and a generated column).
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models

from shapes.managers import (
    CityManager,
    CountryManager,
    LabelManager,
    StreetManager,
    TagManager,
)


class Scalar(models.Model):
    """One column of each built-in value field type, nullable where it can be."""

    id = models.AutoField(primary_key=True)
    boolean = models.BooleanField(null=True)
    char = models.CharField(max_length=40, default="", blank=True)
    char_null = models.CharField(max_length=40, null=True, blank=True)  # noqa: DJ001
    text = models.TextField(default="", blank=True)
    slug = models.SlugField(null=True)  # noqa: DJ001
    email = models.EmailField(null=True)  # noqa: DJ001
    url = models.URLField(null=True)  # noqa: DJ001
    ip = models.GenericIPAddressField(null=True)
    integer = models.IntegerField(null=True)
    big = models.BigIntegerField(null=True)
    small = models.SmallIntegerField(null=True)
    positive = models.PositiveIntegerField(null=True)
    positive_big = models.PositiveBigIntegerField(null=True)
    positive_small = models.PositiveSmallIntegerField(null=True)
    real = models.FloatField(null=True)
    decimal = models.DecimalField(max_digits=9, decimal_places=3, null=True)
    date = models.DateField(null=True)
    moment = models.DateTimeField(null=True)
    time = models.TimeField(null=True)
    duration = models.DurationField(null=True)
    uuid = models.UUIDField(null=True)
    binary = models.BinaryField(null=True)
    json = models.JSONField(null=True)
    file = models.FileField(upload_to="shapes/", default="", blank=True)
    file_path = models.FilePathField(path="/tmp", default="", blank=True)

    def __str__(self) -> str:
        return f"scalar {self.pk}"


class Tag(models.Model):
    """A unique natural key, for renames and keys that move between rows."""

    name = models.CharField(max_length=30, unique=True)
    weight = models.IntegerField(default=0)

    objects = TagManager()

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple[Any, ...]:
        return (self.name,)


class Article(models.Model):
    """References to Tag by pk, by ``to_field``, one-to-one and many-to-many."""

    title = models.CharField(max_length=40, default="", blank=True)
    tag = models.ForeignKey(
        Tag, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles"
    )
    tag_by_name = models.ForeignKey(
        Tag,
        to_field="name",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles_by_name",
    )
    feature = models.OneToOneField(
        Tag,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="featured_in",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tagged_articles")

    def __str__(self) -> str:
        return self.title


class Label(models.Model):
    """A natural key on a field that is not unique."""

    name = models.CharField(max_length=30)
    note = models.CharField(max_length=30, default="", blank=True)

    objects = LabelManager()

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple[Any, ...]:
        return (self.name,)


class Country(models.Model):
    code = models.CharField(max_length=2, unique=True)
    name = models.CharField(max_length=40, default="", blank=True)

    objects = CountryManager()

    class Meta:
        verbose_name_plural = "countries"

    def __str__(self) -> str:
        return self.code

    def natural_key(self) -> tuple[Any, ...]:
        return (self.code,)


class City(models.Model):
    """A natural key through a foreign key: (name, country code)."""

    name = models.CharField(max_length=40)
    country = models.ForeignKey(Country, on_delete=models.CASCADE)

    objects = CityManager()

    class Meta:
        verbose_name_plural = "cities"
        constraints = (
            models.UniqueConstraint(
                fields=["name", "country"], name="shapes_city_name_country"
            ),
        )

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple[Any, ...]:
        return (self.name, *self.country.natural_key())

    natural_key.dependencies = ("shapes.country",)  # type: ignore[attr-defined]


class Street(models.Model):
    """A natural key two foreign keys deep: (name, city name, country code)."""

    name = models.CharField(max_length=40)
    city = models.ForeignKey(City, on_delete=models.CASCADE)

    objects = StreetManager()

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=["name", "city"], name="shapes_street_name_city"
            ),
        )

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple[Any, ...]:
        return (self.name, *self.city.natural_key())

    natural_key.dependencies = ("shapes.city",)  # type: ignore[attr-defined]


class Stamped(models.Model):
    """An abstract base: its field lands in each concrete child's table."""

    note = models.CharField(max_length=40, default="", blank=True)

    class Meta:
        abstract = True


class Place(Stamped):
    name = models.CharField(max_length=40)

    def __str__(self) -> str:
        return self.name


class Restaurant(Place):
    """Multi-table inheritance: a row in Place's table and one in its own."""

    serves_pizza = models.BooleanField(default=False)


class PlaceProxy(Place):
    class Meta:
        proxy = True


class PlaceDetail(models.Model):
    """A one-to-one field as the primary key."""

    place = models.OneToOneField(Place, primary_key=True, on_delete=models.CASCADE)
    detail = models.CharField(max_length=40, default="", blank=True)

    def __str__(self) -> str:
        return self.detail


class Node(models.Model):
    """A self foreign key, and a small auto primary key."""

    id = models.SmallAutoField(primary_key=True)
    name = models.CharField(max_length=40, default="", blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """A symmetrical many-to-many to itself."""

    name = models.CharField(max_length=40, default="", blank=True)
    friends = models.ManyToManyField("self", blank=True)

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """A many-to-many through a model of its own."""

    name = models.CharField(max_length=40, default="", blank=True)
    members = models.ManyToManyField(Person, through="Membership", blank=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    person = models.ForeignKey(Person, on_delete=models.CASCADE)
    role = models.CharField(max_length=40, default="", blank=True)

    def __str__(self) -> str:
        return self.role


class Comment(models.Model):
    """A generic foreign key (contenttypes)."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    text = models.CharField(max_length=40, default="", blank=True)

    def __str__(self) -> str:
        return self.text


class Legacy(models.Model):
    """
    An unmanaged table with no primary key constraint (created by RunSQL in
    the migration): nothing in the database stops two rows with one id.
    """

    id = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=40, default="", blank=True)

    class Meta:
        managed = False
        db_table = "shapes_legacy"

    def __str__(self) -> str:
        return self.name


class Score(models.Model):
    """A composite primary key (Django 5.2+)."""

    pk = models.CompositePrimaryKey("country", "year")
    country = models.CharField(max_length=2)
    year = models.IntegerField()
    value = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.country} {self.year}"


class Defaulted(models.Model):
    """Database defaults, alone and with a Python default."""

    name = models.CharField(max_length=40, default="", blank=True)
    counted = models.IntegerField(db_default=42)
    both = models.IntegerField(db_default=1, default=2)
    word = models.CharField(max_length=10, db_default="dbword")

    def __str__(self) -> str:
        return self.name


class Generated(models.Model):
    """A stored generated column."""

    number = models.IntegerField(default=0)
    doubled = models.GeneratedField(
        expression=models.F("number") * 2,
        output_field=models.IntegerField(),
        db_persist=True,
    )

    def __str__(self) -> str:
        return str(self.number)
