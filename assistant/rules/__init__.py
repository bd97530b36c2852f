"""Data-driven rules shared by instruments and triage: one engine, catalogue, taxonomy."""
