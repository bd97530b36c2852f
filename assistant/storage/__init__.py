"""Storage used by the API: accounts and sessions, and the spreadsheet-safe CSV writer."""
