"""Pure domain rules (DOMAIN.md): no Flask, no database, unit-tested on their own."""
