"""Answers from recipients: reading mail (mail.py), deciding what it means (classify.py),
matching and recording it in its case (inbound.py), fetching it from a mailbox (imap.py)."""
