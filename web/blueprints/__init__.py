"""One blueprint per area of the app; each checks the role of every route it serves."""
