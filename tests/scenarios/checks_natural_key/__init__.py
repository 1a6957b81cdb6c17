"""Scenario: a natural key reference to a model without a natural key (E005)."""
