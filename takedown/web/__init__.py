"""The web screens, one package per audience: staff/ (caseworkers), portal/ (the affected
person), review/ (reviewers). Roles and object-level access live in access.py."""
