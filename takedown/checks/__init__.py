"""Rechecking links: fetching untrusted URLs safely (fetch.py), and deciding what a fetch means."""
