"""Operator wiring: the only package that imports kopf.

What belongs here: kopf handlers that turn watch events into work-queue keys,
the workers that run the domain reconcilers, start-up and shutdown. Handlers
stay thin: no domain decision is made here. What must not: business logic.
"""
