"""Model files: where they live, how the installer assembles them from PyPI wheels, how they are checked."""
