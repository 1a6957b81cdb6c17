"""
A linear history for ``manage.py migrate``: the library's first migration,
then the _get_model recipe of tests/scenarios/legacy_loading.
"""
