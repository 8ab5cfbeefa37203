"""Hypothesis settings for this suite: no per-example deadline (shared, busy CI machines)."""

from hypothesis import settings

settings.register_profile("wharf", deadline=None, print_blob=True)
settings.load_profile("wharf")
