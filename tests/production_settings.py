"""Settings a production deployment passes validation with; tests change one field at a time."""

PRODUCTION = {
    "env": "production",
    "database_url": "postgresql://lentur_api@db/lentur",
    "temporal_address": "temporal:7233",
    "nats_url": "nats://nats:4222",
    "jwt_secret": "j" * 40,
    "vault_secret": "v" * 40,
    "audit_signing_key": "11" * 32,
}
