"""Ingestion pipeline: load → clean → chunk → embed → store, apart from serving."""
