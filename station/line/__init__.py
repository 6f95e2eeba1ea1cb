"""What a station knows of its PC and its line: settings, users and roles, the model registry the
line shares, disk levels, and the alarm rules."""
