"""Training, evaluation and the synthetic data generator."""
