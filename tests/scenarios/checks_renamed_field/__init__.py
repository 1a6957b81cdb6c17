"""Scenario: a fixture naming a field by the name it had before a rename (E004)."""
