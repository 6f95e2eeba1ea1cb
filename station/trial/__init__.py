"""Trials of a candidate model on live parts before it is promoted (shadow mode)."""
