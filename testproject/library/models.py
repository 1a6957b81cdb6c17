"""Library models at their latest state (after ``0011_writer_slug``).

The migration history of this app renames, adds and deletes fields and models
after fixtures were loaded, so those fixtures only load with the historical
models of their migration state.
"""

from __future__ import annotations

from django.db import models


class Writer(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, blank=True, default="")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    def __str__(self) -> str:
        return self.name


class Book(models.Model):
    headline = models.CharField(max_length=200)
    author = models.ForeignKey(Writer, on_delete=models.CASCADE, related_name="books")
    pages = models.PositiveIntegerField()
    tags = models.ManyToManyField(Tag, blank=True, related_name="books")
    publisher_name = models.CharField(max_length=100, blank=True, default="")

    def __str__(self) -> str:
        return self.headline
