"""The task catalogue as stored rows: suites, tasks and immutable dataset versions."""
