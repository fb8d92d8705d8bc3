"""Alembic migrations of the product database (see env.py)."""
