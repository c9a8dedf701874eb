-- spillwatch schema, migration 9: where each check verdict came from (docs/quality.md).
-- provenance: compact JSON text (server/quality.h sw_quality_provenance_json): the layer that made the
-- state, the physical window and the stability window with its expected value, tolerances and the
-- runs and spills of its baseline. NULL for verdicts stored before this migration.
ALTER TABLE checks ADD COLUMN provenance TEXT;
