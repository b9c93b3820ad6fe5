"""The ``socio serve`` web app: chat and map in the browser over a small HTTP API (see `agent.serving.web_app`)."""
