"""Who speaks when: per channel for stereo recordings, by model for mono ones."""
