"""Domain services: the rules and transactions behind the views and commands."""
