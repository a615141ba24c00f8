"""Keeping a deployment healthy: backups, data-key rotation, recomputed deadlines, re-masking stored text."""
