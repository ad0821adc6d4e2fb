"""The reference central service: MQTT ingest into SQLAlchemy (SQLite or PostgreSQL), acks, fan-out."""
