"""The operator directory: who receives notices, how to reach them, and how we know.

- seed.py: curated organisations, contacts and operator rules (`manage.py seed_directory`);
- importers.py: recipient databases such as datenanfragen (`manage.py import_directory`);
- rules.py: `match_rules(hostname, cname_chain, network_names)`, the rules that beat WHOIS;
- contacts.py: `best_contact(...)`, caseworker overrides, syncing contacts from a source.
"""
