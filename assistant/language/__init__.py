"""Dutch language handling shared by ingest, retrieval, answering, rules and triage."""
