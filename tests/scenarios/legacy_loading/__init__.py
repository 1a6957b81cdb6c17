"""
Migrations that load fixtures the way projects did before histfixtures.

Each one depends on the library's first migration only, so that a test can
apply it alone at that state (tests/test_legacy_loading.py). Their lines
are asserted by the checks' tests: keep them where they are.
"""
