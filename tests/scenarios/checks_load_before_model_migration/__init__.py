"""Scenario: a LoadFixture before the migration that creates its model (E003)."""
