"""Notifications: a tenant's Alerts send its own objects' events to its Providers.

Every Event Landlord posts (:func:`landlord.kube.events.record`) is also offered
to the :class:`~landlord.notifications.dispatcher.Dispatcher`, which matches it
against the Alerts that may see it (the object's own tenant's, unless the
policy allows more), deduplicates and rate-limits per Alert, and delivers on
its own threads with retries: a reconcile never waits for a webhook. Payloads
follow each service's documented shape (:mod:`.payloads`); every address is a
tenant-chosen outbound request and passes the sources' network deny list.
Receivers (push webhooks in) are :mod:`.receivers`.
"""
