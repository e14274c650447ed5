"""clientes: customer accounts, passwords (argon2id) and JWTs (the tutorial's cliente service)."""
