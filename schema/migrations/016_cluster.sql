-- spillwatch schema, version 16: nothing in SQLite. PostgreSQL's migration 16 (schema/pg/
-- 016_cluster.sql) adds the tables through which several servers share one database; a SQLite
-- file has one server. Kept so that a version number means the same data in both engines.
SELECT 1;
