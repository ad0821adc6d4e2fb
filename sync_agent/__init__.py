"""The device's MQTT sync agent (outbox → central, inbound catalog/tickets/commands) and the central service."""
