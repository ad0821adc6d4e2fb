"""The venue broker: mosquitto config templates (durable persistence, per-device ACLs, TLS, bridge) and accounts."""
