"""What happens to DAG runs and task instances, whoever asks: triggering, clearing, marking.

The API calls these now; the scheduler uses the same functions, so both change state alike.
"""
