"""Figures about the regulator's work: statistics of the published data and reports, and its own compliance with deadlines."""
