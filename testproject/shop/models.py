"""Shop models at their latest state (after ``0008_order_total_cents``).

``Listing.book`` is a foreign key into the ``library`` app, so the shop's
fixtures depend on the library's migration history as well.
"""

from __future__ import annotations

from django.db import models


class Customer(models.Model):
    full_name = models.CharField(max_length=100)
    email = models.EmailField(blank=True, default="")

    def __str__(self) -> str:
        return self.full_name


class Listing(models.Model):
    book = models.ForeignKey(
        "library.Book", on_delete=models.CASCADE, related_name="listings"
    )
    amount = models.DecimalField(max_digits=8, decimal_places=2)
    currency = models.CharField(max_length=3)
    listed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.book} ({self.amount} {self.currency})"


class Order(models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="orders"
    )
    listings = models.ManyToManyField(Listing, related_name="orders")
    created = models.DateTimeField()
    total_cents = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"Order {self.pk} of {self.customer}"
