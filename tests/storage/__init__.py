"""Tables, engine, sessions, prepared reads, schema, outage or refusal, a full disk."""
