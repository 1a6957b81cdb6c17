"""Scenario: a fixture that does not parse (E002)."""
