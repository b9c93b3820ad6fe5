"""Serving front ends: socioagent's tools over MCP, the web app, and the limits every front end applies.

`agent.serving.mcp_server` is the MCP server; `agent.serving.web_app` the ``socio serve`` web app (chat and map in
the browser); `agent.serving.limits` holds the roots, sizes, time and token rules both apply.
"""
