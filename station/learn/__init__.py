"""Learning from reviews: the export of reviewed parts, retraining and comparing, and the check
a promotion must pass."""
