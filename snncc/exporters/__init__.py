"""Exporters: a float-IR Network out to another framework's format (NIR)."""
