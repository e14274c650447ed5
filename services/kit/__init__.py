"""Shared service kit: config, server bootstrap, errors, validation, logging, database, outbox."""
