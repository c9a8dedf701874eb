-- spillwatch schema, migration 15: a covering index of what the good-spill exports read of each
-- spill (docs/exports.md): its flag, MOT, times and the profile version that judged it, by run and
-- spill. A spill row holds its reasons, counters and triggers as JSON (about 1-2 kB); without this
-- index an export of a period of 100 runs read 33,000 of them three times (46 ms at 10^6 stored
-- spills). The flag counts and MOT totals of a run come from run_totals (migration 13).
CREATE INDEX spills_run_export ON spills(run, spill, flag, mot, started, ended, profile_version);
