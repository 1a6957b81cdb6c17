"""Scenario: a fixture naming a model by the name it had before a rename (E003)."""
