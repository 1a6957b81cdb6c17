"""Scenario: a LoadFixture before its model's CreateModel, in one migration (E003)."""
