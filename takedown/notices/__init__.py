"""Removal notices: legal regimes as data (regimes), rendering and the element check (render),
PDF with a fetcher that fetches nothing from outside (pdf), sending (send), grouping links into
notices and the four-eyes review (generate, review).

Nothing is imported here: WeasyPrint is heavy and the web process should not pay for it.
"""
