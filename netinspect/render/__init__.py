"""Renderers: analysis results to rich renderables (text) or JSON-ready dicts. No printing."""
