"""Shared understanding of backend code, used by many rules."""
