"""Authentication (who is calling) and, later, authorization (what they may do)."""
