-- spillwatch schema, migration 8: DAQ integrity per spill (docs/api.md, spill_end daq_sources). The
-- spill_end's per-source counts as the DAQ sent them, a JSON object SOURCE -> {"events", "missing",
-- "empty", "truncated"} (keys sorted); NULL when the spill_end had none (an older collector, or a
-- spill closed by the timeout), which the daq checks judge EXCLUDED.

ALTER TABLE spills ADD COLUMN daq_sources TEXT;
