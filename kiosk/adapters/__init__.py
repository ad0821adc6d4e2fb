"""Thin I/O around the domain, each adapter with a fake twin for tests."""
