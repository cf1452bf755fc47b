"""The HTTP application: the FastAPI app that mounts every router (app.py) and its request limits."""
