"""The product's database: calls, transcripts, scores, reviews, appeals, users and the audit log."""
