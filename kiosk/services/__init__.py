"""Use cases that own the database transaction: scanning, selling, printing, diagnostics."""
