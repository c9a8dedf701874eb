-- spillwatch schema: per-run totals kept at commit, so the run list and a run's summary read one
-- row per run instead of summing every stored spill on each request (docs/performance.md).
--
-- run_totals holds, per run, what the run list shows: the stored spills, their events and MOT,
-- the MOT of the spills whose effective flag (the manual flag where there is one, else the
-- checks' verdict) is GOOD, and the spills per effective flag. Triggers keep it exact on every
-- path that changes a spill or its manual flag (a spill's commit, a re-evaluation, a manual flag
-- set, changed or removed), inside the same transaction as the change, so it can never disagree
-- with the spills it sums. MOT are counts (integral doubles), so adding and subtracting them is
-- exact.

CREATE TABLE run_totals (
    run       INTEGER PRIMARY KEY,
    spills    INTEGER NOT NULL DEFAULT 0,
    events    INTEGER NOT NULL DEFAULT 0,
    mot       REAL NOT NULL DEFAULT 0,
    good_mot  REAL NOT NULL DEFAULT 0,
    n_good    INTEGER NOT NULL DEFAULT 0,
    n_warn    INTEGER NOT NULL DEFAULT 0,
    n_bad     INTEGER NOT NULL DEFAULT 0,
    n_unknown INTEGER NOT NULL DEFAULT 0,
    n_excluded INTEGER NOT NULL DEFAULT 0
) STRICT;

INSERT INTO run_totals(run, spills, events, mot, good_mot, n_good, n_warn, n_bad, n_unknown, n_excluded)
SELECT r.run, count(s.spill), coalesce(sum(s.events), 0), coalesce(sum(s.mot), 0.0),
       coalesce(sum(CASE WHEN coalesce(m.flag, s.flag) = 'GOOD' THEN s.mot END), 0.0),
       coalesce(sum(coalesce(m.flag, s.flag) = 'GOOD'), 0), coalesce(sum(coalesce(m.flag, s.flag) = 'WARN'), 0),
       coalesce(sum(coalesce(m.flag, s.flag) = 'BAD'), 0), coalesce(sum(coalesce(m.flag, s.flag) = 'UNKNOWN'), 0),
       coalesce(sum(coalesce(m.flag, s.flag) = 'EXCLUDED'), 0)
FROM runs r LEFT JOIN spills s ON s.run = r.run
LEFT JOIN manual_flags m ON m.run = s.run AND m.spill = s.spill
GROUP BY r.run;

CREATE TRIGGER run_totals_run AFTER INSERT ON runs BEGIN
    INSERT OR IGNORE INTO run_totals(run) VALUES (NEW.run);
END;

-- One spill's contribution, with effective flag F, added (sign +1) or taken away (-1): written
-- out in each trigger (SQLite triggers have no functions).
CREATE TRIGGER run_totals_spill_ins AFTER INSERT ON spills BEGIN
    INSERT OR IGNORE INTO run_totals(run) VALUES (NEW.run);
    UPDATE run_totals SET
        spills = spills + 1, events = events + NEW.events, mot = mot + coalesce(NEW.mot, 0),
        good_mot = good_mot + (CASE WHEN F.f = 'GOOD' THEN coalesce(NEW.mot, 0) ELSE 0 END),
        n_good = n_good + (F.f = 'GOOD'), n_warn = n_warn + (F.f = 'WARN'), n_bad = n_bad + (F.f = 'BAD'),
        n_unknown = n_unknown + (F.f = 'UNKNOWN'), n_excluded = n_excluded + (F.f = 'EXCLUDED')
    FROM (SELECT coalesce((SELECT flag FROM manual_flags WHERE run = NEW.run AND spill = NEW.spill), NEW.flag) AS f) AS F
    WHERE run_totals.run = NEW.run;
END;

CREATE TRIGGER run_totals_spill_del AFTER DELETE ON spills BEGIN
    UPDATE run_totals SET
        spills = spills - 1, events = events - OLD.events, mot = mot - coalesce(OLD.mot, 0),
        good_mot = good_mot - (CASE WHEN F.f = 'GOOD' THEN coalesce(OLD.mot, 0) ELSE 0 END),
        n_good = n_good - (F.f = 'GOOD'), n_warn = n_warn - (F.f = 'WARN'), n_bad = n_bad - (F.f = 'BAD'),
        n_unknown = n_unknown - (F.f = 'UNKNOWN'), n_excluded = n_excluded - (F.f = 'EXCLUDED')
    FROM (SELECT coalesce((SELECT flag FROM manual_flags WHERE run = OLD.run AND spill = OLD.spill), OLD.flag) AS f) AS F
    WHERE run_totals.run = OLD.run;
END;

-- A re-evaluation changes the automatic flag; nothing else of a stored spill that the totals sum
-- changes after its commit, but the trigger takes the whole old row away and adds the new one.
CREATE TRIGGER run_totals_spill_upd AFTER UPDATE OF flag, events, mot ON spills BEGIN
    UPDATE run_totals SET
        events = events - OLD.events + NEW.events, mot = mot - coalesce(OLD.mot, 0) + coalesce(NEW.mot, 0),
        good_mot = good_mot - (CASE WHEN F.o = 'GOOD' THEN coalesce(OLD.mot, 0) ELSE 0 END)
                            + (CASE WHEN F.n = 'GOOD' THEN coalesce(NEW.mot, 0) ELSE 0 END),
        n_good = n_good - (F.o = 'GOOD') + (F.n = 'GOOD'), n_warn = n_warn - (F.o = 'WARN') + (F.n = 'WARN'),
        n_bad = n_bad - (F.o = 'BAD') + (F.n = 'BAD'),
        n_unknown = n_unknown - (F.o = 'UNKNOWN') + (F.n = 'UNKNOWN'),
        n_excluded = n_excluded - (F.o = 'EXCLUDED') + (F.n = 'EXCLUDED')
    FROM (SELECT coalesce(M.flag, OLD.flag) AS o, coalesce(M.flag, NEW.flag) AS n
          FROM (SELECT (SELECT flag FROM manual_flags WHERE run = NEW.run AND spill = NEW.spill) AS flag) AS M) AS F
    WHERE run_totals.run = NEW.run;
END;

-- A manual flag moves its spill from one effective flag to another (a flag on a spill that is
-- not stored changes nothing: the join finds no spill). A flag that replaces another must be
-- written as an UPDATE (INSERT ... ON CONFLICT DO UPDATE, as certify.c does): INSERT OR REPLACE
-- deletes the old row without firing the delete trigger, and the totals would drift
-- (tests/integration/test_run_totals.py compares them with the spills after every kind of change).
CREATE TRIGGER run_totals_manual_ins AFTER INSERT ON manual_flags BEGIN
    UPDATE run_totals SET
        good_mot = good_mot - (CASE WHEN s.flag = 'GOOD' THEN coalesce(s.mot, 0) ELSE 0 END)
                            + (CASE WHEN NEW.flag = 'GOOD' THEN coalesce(s.mot, 0) ELSE 0 END),
        n_good = n_good - (s.flag = 'GOOD') + (NEW.flag = 'GOOD'), n_warn = n_warn - (s.flag = 'WARN') + (NEW.flag = 'WARN'),
        n_bad = n_bad - (s.flag = 'BAD') + (NEW.flag = 'BAD'),
        n_unknown = n_unknown - (s.flag = 'UNKNOWN') + (NEW.flag = 'UNKNOWN'),
        n_excluded = n_excluded - (s.flag = 'EXCLUDED') + (NEW.flag = 'EXCLUDED')
    FROM spills s WHERE s.run = NEW.run AND s.spill = NEW.spill AND run_totals.run = NEW.run;
END;

CREATE TRIGGER run_totals_manual_del AFTER DELETE ON manual_flags BEGIN
    UPDATE run_totals SET
        good_mot = good_mot - (CASE WHEN OLD.flag = 'GOOD' THEN coalesce(s.mot, 0) ELSE 0 END)
                            + (CASE WHEN s.flag = 'GOOD' THEN coalesce(s.mot, 0) ELSE 0 END),
        n_good = n_good - (OLD.flag = 'GOOD') + (s.flag = 'GOOD'), n_warn = n_warn - (OLD.flag = 'WARN') + (s.flag = 'WARN'),
        n_bad = n_bad - (OLD.flag = 'BAD') + (s.flag = 'BAD'),
        n_unknown = n_unknown - (OLD.flag = 'UNKNOWN') + (s.flag = 'UNKNOWN'),
        n_excluded = n_excluded - (OLD.flag = 'EXCLUDED') + (s.flag = 'EXCLUDED')
    FROM spills s WHERE s.run = OLD.run AND s.spill = OLD.spill AND run_totals.run = OLD.run;
END;

CREATE TRIGGER run_totals_manual_upd AFTER UPDATE OF flag ON manual_flags BEGIN
    UPDATE run_totals SET
        good_mot = good_mot - (CASE WHEN OLD.flag = 'GOOD' THEN coalesce(s.mot, 0) ELSE 0 END)
                            + (CASE WHEN NEW.flag = 'GOOD' THEN coalesce(s.mot, 0) ELSE 0 END),
        n_good = n_good - (OLD.flag = 'GOOD') + (NEW.flag = 'GOOD'), n_warn = n_warn - (OLD.flag = 'WARN') + (NEW.flag = 'WARN'),
        n_bad = n_bad - (OLD.flag = 'BAD') + (NEW.flag = 'BAD'),
        n_unknown = n_unknown - (OLD.flag = 'UNKNOWN') + (NEW.flag = 'UNKNOWN'),
        n_excluded = n_excluded - (OLD.flag = 'EXCLUDED') + (NEW.flag = 'EXCLUDED')
    FROM spills s WHERE s.run = NEW.run AND s.spill = NEW.spill AND run_totals.run = NEW.run;
END;

-- The run's last closed spill (the run list shows it) without scanning the run's spills.
CREATE INDEX spills_run_closed ON spills(run, closed_at);
-- The overview's current run (?order=recent) without sorting every run.
CREATE INDEX runs_started ON runs(started, run);
-- A trend over a time range (no run) without scanning every spill.
CREATE INDEX spills_started ON spills(started);
