"""Helpdesk triage of reported knelpunten: is it a report, themes and fase by meaning,
urgency with its reasons, fitting support, similar cases and guidance."""
