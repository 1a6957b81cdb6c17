"""Scenario: a LoadFixture before the AddField of a field it sets (E004)."""
