#!/bin/sh
# Runs once, when the Postgres volume is created (docker-entrypoint-initdb.d).
# lentur_owner owns the schema and runs migrations; lentur_api is the app's login, a member of lentur_app,
# which may append events but never change them (see eventstore/migrations/0060_application_role.sql).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="$LENTUR_OWNER_PASSWORD" -v api_password="$LENTUR_API_PASSWORD" <<'SQL'
CREATE ROLE lentur_owner LOGIN PASSWORD :'owner_password';
CREATE DATABASE lentur OWNER lentur_owner;
CREATE ROLE lentur_app NOLOGIN;
CREATE ROLE lentur_api LOGIN PASSWORD :'api_password' IN ROLE lentur_app;
SQL
