"""Scenario: a pinned fixture edited after the migration was written (E006)."""
