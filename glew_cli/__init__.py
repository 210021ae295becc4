"""``glew``: the command line client of a Glew server."""
