"""Checklist scoring: transcripts in, item verdicts with evidence and a call score out."""
