"""Independent Python reference for vsrqa: tiny stand-in networks and the preprocessing of docs/bundle.md.

Used by tools/fixtures/make_tiny_bundle.py to make the test bundle and golden outputs.
"""
