"""
Migration histories swapped in with ``MIGRATION_MODULES``, one package per
scenario, as Django's own ``tests/migrations/test_migrations_*`` are.
"""
