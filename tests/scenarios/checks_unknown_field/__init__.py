"""Scenario: a fixture naming a field of a later state (E004)."""
