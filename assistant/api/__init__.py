"""HTTP API and the pages: `create_app` builds the app (see app.py); one router per resource."""

from assistant.api.app import create_app

__all__ = ["create_app"]
