"""Learning from inspectors: how often the automatic verdicts are confirmed, and (later) models
trained on the confirmed verdicts."""
