"""Members models at their latest state (after ``0004_club_title_and_joined``).

The app's fixtures refer to users, groups, permissions, clubs and members by
natural key, as ``dumpdata --natural-foreign --natural-primary`` writes them.
Club's natural key field was renamed (``name`` → ``title``) after the fixtures
were written, and Member gained a required field.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from members.managers import ClubManager, MemberManager


class Club(models.Model):
    title = models.CharField(max_length=100, unique=True)

    objects = ClubManager()

    def __str__(self) -> str:
        return self.title

    def natural_key(self) -> tuple[str]:
        return (self.title,)


class Member(models.Model):
    handle = models.CharField(max_length=50, unique=True)
    club = models.ForeignKey(Club, on_delete=models.PROTECT, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="memberships",
    )
    mentor = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mentees",
    )
    groups = models.ManyToManyField("auth.Group", blank=True, related_name="members")
    joined = models.DateField()

    objects = MemberManager()

    def __str__(self) -> str:
        return self.handle

    def natural_key(self) -> tuple[str]:
        return (self.handle,)
