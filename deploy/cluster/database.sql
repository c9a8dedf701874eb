-- spillwatch on PostgreSQL (docs/deployment.md, "Several servers"): the role and the database the
-- servers share. Run once, as a PostgreSQL superuser, with the role's password given on the command
-- line (never written here):
--   psql -v ON_ERROR_STOP=1 -v password="$(cat /root/spillwatch-db-password)" -f database.sql
-- The schema itself is not made here: the first server started on the database (or
-- `spillwatch migrate`) creates it, under an advisory lock, and later versions migrate it.
CREATE ROLE spillwatch LOGIN PASSWORD :'password';
CREATE DATABASE spillwatch OWNER spillwatch ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
-- Nobody else connects to it.
REVOKE ALL ON DATABASE spillwatch FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE spillwatch TO spillwatch;
