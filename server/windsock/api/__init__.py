"""HTTP machinery shared by every operation: problems, paging, conditional requests, updates."""
