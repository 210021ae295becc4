"""Accounts: API tokens for the CLI and scripts (sign-up and log-in use Django auth)."""
