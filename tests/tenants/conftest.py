"""Tenant operator tests use the shared operator fixtures (``tests/fixtures/operator.py``)."""
