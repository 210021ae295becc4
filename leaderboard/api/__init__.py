"""The REST API (JSON, token auth), version 1. Views are thin: services do the work."""
