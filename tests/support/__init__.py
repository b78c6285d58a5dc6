"""Test support: databases, servers and clients the test suites share."""
