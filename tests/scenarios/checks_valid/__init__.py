"""Scenario: a valid, pinned LoadFixture: no findings."""
