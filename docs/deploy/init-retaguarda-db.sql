-- Retaguarda's own database beside Temporal's, on the same PostgreSQL server.
-- The password is set by the operator afterwards: ALTER ROLE retaguarda PASSWORD '...';
CREATE ROLE retaguarda LOGIN;
CREATE DATABASE retaguarda OWNER retaguarda;
