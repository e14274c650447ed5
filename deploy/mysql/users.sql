-- Least privilege: one user per context, rights on its own database only, and the relay's user.
-- Run as an administrator: `make db-users` (AEROALPES_DB_URL naming an administrator), or the
-- mysql client. Idempotent. The passwords are development ones: change them with ALTER USER
-- (and in each service's AEROALPES_DB_URL) on any server that is not your own machine.

CREATE DATABASE IF NOT EXISTS clientes CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'aeroalpes_clientes'@'%' IDENTIFIED BY 'aeroalpes-clientes';
GRANT ALL PRIVILEGES ON clientes.* TO 'aeroalpes_clientes'@'%';

CREATE DATABASE IF NOT EXISTS reservas CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'aeroalpes_reservas'@'%' IDENTIFIED BY 'aeroalpes-reservas';
GRANT ALL PRIVILEGES ON reservas.* TO 'aeroalpes_reservas'@'%';

CREATE DATABASE IF NOT EXISTS pagos CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'aeroalpes_pagos'@'%' IDENTIFIED BY 'aeroalpes-pagos';
GRANT ALL PRIVILEGES ON pagos.* TO 'aeroalpes_pagos'@'%';

CREATE DATABASE IF NOT EXISTS gds CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'aeroalpes_gds'@'%' IDENTIFIED BY 'aeroalpes-gds';
GRANT ALL PRIVILEGES ON gds.* TO 'aeroalpes_gds'@'%';

CREATE DATABASE IF NOT EXISTS sagas CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'aeroalpes_sagas'@'%' IDENTIFIED BY 'aeroalpes-sagas';
GRANT ALL PRIVILEGES ON sagas.* TO 'aeroalpes_sagas'@'%';

CREATE DATABASE IF NOT EXISTS notificaciones CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'aeroalpes_notificaciones'@'%' IDENTIFIED BY 'aeroalpes-notificaciones';
GRANT ALL PRIVILEGES ON notificaciones.* TO 'aeroalpes_notificaciones'@'%';

-- The relay: reads the binlog (REPLICATION CLIENT shows as BINLOG MONITOR on MariaDB); reads the
-- context databases (outbox and watched tables; a table-level grant would need them to exist
-- before the services migrate), with LOCK TABLES for the locking read by which polling waits for
-- a row still being written; keeps its polling progress in each outbox's database.
CREATE USER IF NOT EXISTS 'aeroalpes_cdc'@'%' IDENTIFIED BY 'aeroalpes-cdc';
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'aeroalpes_cdc'@'%';
GRANT SELECT, LOCK TABLES ON clientes.* TO 'aeroalpes_cdc'@'%';
GRANT SELECT, INSERT, UPDATE, CREATE ON clientes.cdc_progreso TO 'aeroalpes_cdc'@'%';
GRANT SELECT, LOCK TABLES ON reservas.* TO 'aeroalpes_cdc'@'%';
GRANT SELECT, INSERT, UPDATE, CREATE ON reservas.cdc_progreso TO 'aeroalpes_cdc'@'%';
GRANT SELECT, LOCK TABLES ON pagos.* TO 'aeroalpes_cdc'@'%';
GRANT SELECT, INSERT, UPDATE, CREATE ON pagos.cdc_progreso TO 'aeroalpes_cdc'@'%';
GRANT SELECT, LOCK TABLES ON gds.* TO 'aeroalpes_cdc'@'%';
GRANT SELECT, INSERT, UPDATE, CREATE ON gds.cdc_progreso TO 'aeroalpes_cdc'@'%';
GRANT SELECT, LOCK TABLES ON sagas.* TO 'aeroalpes_cdc'@'%';
GRANT SELECT, INSERT, UPDATE, CREATE ON sagas.cdc_progreso TO 'aeroalpes_cdc'@'%';
