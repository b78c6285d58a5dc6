"""Example DAGs shipped with Windsock, loaded when `[core] load_examples` is on."""
