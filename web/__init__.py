"""The web app: inspectors review scored calls, agents see their scores and appeal, staff upload."""
