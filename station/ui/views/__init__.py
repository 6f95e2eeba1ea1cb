"""The window's tabs: live, review, statistics, models."""
