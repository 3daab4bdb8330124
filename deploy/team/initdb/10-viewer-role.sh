#!/bin/sh
# Runs once, when the postgres container creates its database (docker-entrypoint-initdb.d).
# The web viewer's login role: it may read every table tgmonitor creates, and write none.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v viewer_password="$VIEWER_PASSWORD" <<'SQL'
CREATE ROLE viewer LOGIN PASSWORD :'viewer_password';
ALTER ROLE viewer SET default_transaction_read_only = on;
ALTER ROLE viewer SET statement_timeout = '10s';
GRANT CONNECT ON DATABASE :"DBNAME" TO viewer;
GRANT USAGE ON SCHEMA public TO viewer;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO viewer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO viewer;
SQL
