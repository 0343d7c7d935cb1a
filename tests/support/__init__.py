"""Test support: real components started by the tests (brokers, servers, models)."""
