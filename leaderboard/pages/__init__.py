"""Server-rendered pages: home, leaderboards, submissions, upload form, accounts."""
