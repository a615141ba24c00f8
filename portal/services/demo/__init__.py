"""The demo data set: published items and reports built through the real services."""
