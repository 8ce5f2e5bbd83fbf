"""The konnect benchmark: `bench/run` (see README.md)."""
