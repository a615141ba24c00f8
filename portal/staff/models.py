"""Staff accounts and the audit log (tables added with the back office)."""
