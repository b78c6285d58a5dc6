"""Hand-written operations, one module per spec tag; the generated controllers call these."""
