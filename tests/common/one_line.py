"""The red team's rule for a refusal: exit 2, one line on stderr, no traceback."""


def one_line(proc, *words):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr, proc.stderr
    # argparse adds its usage line above the error; everything else is exactly one line
    assert len([l for l in lines if not l.startswith("usage:") and not l.startswith("  ")]) == 1, proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr
