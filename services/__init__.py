"""AeroAlpes mesh services: one package per bounded context plus the shared kit."""
