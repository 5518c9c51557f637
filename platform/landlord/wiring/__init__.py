"""Operator wiring: the composition root, and the only package that imports kopf.

What belongs here: :class:`composition.Operator` (every controller, watch and
reloader built from settings, and the hooks between them), the thin kopf
handlers that call it (``handlers``), start-up clean-up of switched-off
features (``retire``), and the ``landlord run`` / ``landlord api`` entry points.
What must not: business logic; no domain decision is made here.
"""
