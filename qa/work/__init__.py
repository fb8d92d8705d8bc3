"""Work on calls: ingest into the store, the job queue and its workers (in process or on Celery),
storing scorecards and scoring again."""
