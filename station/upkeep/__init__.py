"""Running for months: backups, retention, the periodic upkeep of an open run, and the doctor."""
