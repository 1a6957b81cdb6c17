"""Scenario: a LoadFixture whose fixture label has a typo (E001, did you mean)."""
