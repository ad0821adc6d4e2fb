"""Databases as central made them before it used Alembic, for the migration tests: the first release's tables
(`create_all` of commit dfceed3: no allowance column, no incidents' ticket index, no retained bodies), with rows."""

from __future__ import annotations

from sqlalchemy import Connection

FIRST_RELEASE = """
CREATE TABLE central_admissions (scan_id VARCHAR(36) NOT NULL, venue VARCHAR(64) NOT NULL,
    ticket_id BIGINT NOT NULL, performance_id BIGINT, movement VARCHAR(16) NOT NULL, device_id VARCHAR(64) NOT NULL,
    gate VARCHAR(64) NOT NULL, scanned_at VARCHAR(40) NOT NULL, PRIMARY KEY (scan_id));
CREATE INDEX ix_central_admissions_ticket ON central_admissions (venue, ticket_id, performance_id);
CREATE TABLE central_batches (batch_id VARCHAR(64) NOT NULL, venue VARCHAR(64) NOT NULL,
    device_id VARCHAR(64) NOT NULL, events INTEGER NOT NULL, new_events INTEGER NOT NULL,
    committed_at VARCHAR(40) NOT NULL, ack_sent_at VARCHAR(40), PRIMARY KEY (batch_id));
CREATE TABLE central_events (event_id VARCHAR(36) NOT NULL, venue VARCHAR(64) NOT NULL,
    device_id VARCHAR(64) NOT NULL, seq BIGINT NOT NULL, kind VARCHAR(32) NOT NULL, occurred_at VARCHAR(40) NOT NULL,
    payload TEXT NOT NULL, received_at VARCHAR(40) NOT NULL, PRIMARY KEY (event_id));
CREATE INDEX ix_central_events_device ON central_events (device_id, seq);
CREATE TABLE central_incidents (id {serial} NOT NULL, venue VARCHAR(64) NOT NULL, kind VARCHAR(32) NOT NULL,
    ticket_id BIGINT NOT NULL, performance_id BIGINT, first_scan_id VARCHAR(36) NOT NULL,
    first_device VARCHAR(64) NOT NULL, first_gate VARCHAR(64) NOT NULL, first_at VARCHAR(40) NOT NULL,
    second_scan_id VARCHAR(36) NOT NULL, second_device VARCHAR(64) NOT NULL, second_gate VARCHAR(64) NOT NULL,
    second_at VARCHAR(40) NOT NULL, detected_at VARCHAR(40) NOT NULL, PRIMARY KEY (id),
    CONSTRAINT uq_central_incidents_pair UNIQUE (first_scan_id, second_scan_id));
CREATE TABLE central_published (venue VARCHAR(64) NOT NULL, kind VARCHAR(32) NOT NULL, version BIGINT NOT NULL,
    seq BIGINT DEFAULT '0' NOT NULL, PRIMARY KEY (venue, kind));
CREATE TABLE central_rejections (id {serial} NOT NULL, venue VARCHAR(64) NOT NULL, device_id VARCHAR(64) NOT NULL,
    event_id VARCHAR(64) NOT NULL, reason VARCHAR(200) NOT NULL, at VARCHAR(40) NOT NULL, PRIMARY KEY (id));
CREATE TABLE central_tickets (venue VARCHAR(64) NOT NULL, ticket_id BIGINT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (venue, ticket_id));
INSERT INTO central_admissions (scan_id, venue, ticket_id, performance_id, movement, device_id, gate, scanned_at)
    VALUES ('old-1', 'lac', 5, 12, 'entry', 'door-a', 'main', '2026-11-28T17:00:00Z');
INSERT INTO central_events (event_id, venue, device_id, seq, kind, occurred_at, payload, received_at)
    VALUES ('old-1', 'lac', 'door-a', 1, 'checkin', '2026-11-28T17:00:00Z', '{"v":1}', '2026-11-28T17:00:01Z');
INSERT INTO central_published (venue, kind, version, seq) VALUES ('lac', 'catalog', 4, 0);
"""


def make_first_release(conn: Connection) -> None:
    serial = "SERIAL" if conn.dialect.name == "postgresql" else "INTEGER"
    for statement in FIRST_RELEASE.replace("{serial}", serial).split(";"):
        if statement.strip():
            conn.exec_driver_sql(statement)
