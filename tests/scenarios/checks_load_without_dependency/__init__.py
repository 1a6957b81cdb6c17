"""Scenario: a LoadFixture of another app's model, without a dependency on it (E003)."""
