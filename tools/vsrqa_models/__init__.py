"""Getting the published checkpoints and building a ready bundle from them (`python -m vsrqa_models`):
the pinned catalogue (catalogue.json), the download cache (fetch.py) and the export (build.py)."""
