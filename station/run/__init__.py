"""One inspection run, the same for the command line and the window: InspectionRun, the
decode/infer/write pipeline, and the run's report."""
