"""Diagnostic reference levels: national sets shipped as data with their sources, local sets edited by the physicist."""
