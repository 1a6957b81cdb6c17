"""Scenario: a data migration that fails on the data a fixture brings."""
