-- A least-privilege role for the stations of a line (docs/line.md).
-- Run once as the database's owner, after the owner has created the tables (any station
-- command run once with the owner's URL does that), and again after each upgrade that adds a table.
-- Stations read everything and append to the audit, the line's promotions and the reviews; none
-- of them can rewrite or delete those rows, so one station cannot hide another's history.
CREATE ROLE station_line LOGIN;
GRANT USAGE ON SCHEMA public TO station_line;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO station_line;
GRANT INSERT, UPDATE ON models, runs, inspections, users, label_keys TO station_line;
GRANT INSERT ON failures, reviews, line_promotions, line_thresholds, audit, shadow_verdicts, parts TO station_line;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO station_line;
