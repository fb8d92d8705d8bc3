"""Call-centre quality assurance: transcribe, diarize and score recorded calls."""

__version__ = "0.1.0"
