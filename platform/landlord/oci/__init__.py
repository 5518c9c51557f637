"""OCI registries: references, a client for the distribution API (on pinned connections), Flux-format artifacts."""
