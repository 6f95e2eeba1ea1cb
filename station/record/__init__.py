"""Keeping what the station judged: `recorder` (a batch's files, then its rows, or the spool),
`rows` (the database side: one transaction per batch, each image and model once), `spool` (the
batches kept on this PC through an outage) and `forward` (the thread that commits them when the
line answers again)."""
