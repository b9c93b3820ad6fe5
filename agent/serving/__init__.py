"""Serving front ends: socioagent's tools over MCP, and the limits every front end applies to whom it serves.

`agent.serving.mcp_server` is the MCP server; `agent.serving.limits` holds the roots, sizes, time and token rules.
"""
