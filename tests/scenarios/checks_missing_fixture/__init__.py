"""Scenario: a LoadFixture whose fixture does not exist (E001)."""
