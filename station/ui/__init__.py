"""The station window: the only package that imports Qt (a test keeps it so)."""
