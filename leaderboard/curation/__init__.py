"""Curation on a live site: task bundles through the web, impact before publishing."""
