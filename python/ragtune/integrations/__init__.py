"""Integrations with other frameworks (each imports its framework lazily)."""
