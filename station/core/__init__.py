"""Plain data and small helpers every layer uses: errors, paths, files, images, labels, the
domain's types, logging, masking secrets, terminal text, progress, CPU settings, shifts."""
