"""Submissions (uploaded models), their evaluations and results."""
