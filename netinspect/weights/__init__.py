"""Weights files read for what they hold, never for their data: a stage beside the spec
loader. ``safetensors.py`` reads a safetensors file's header."""
