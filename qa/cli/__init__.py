"""The `qa` command: every command's click code and terminal output (rich) lives here, nowhere below."""
