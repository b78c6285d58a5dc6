"""The DAG file processor: loading DAG files into the database."""
