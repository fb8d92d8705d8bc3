"""Review: inspectors confirm or correct verdicts and decide appeals; the queue they work from."""
