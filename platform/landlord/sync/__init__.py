"""The per-tenant sync: build a source revision and apply it **as the tenant**.

What belongs here: safe YAML parsing (``yamlsafe``), the build (plain YAML or
kustomize, postBuild substitution; ``build``), validation (``validate``), the
inventory (``inventory``), health rules (``health``) and the Kustomization
reconciler (``reconciler``), whose every apiserver request for tenant objects
goes through an impersonating client. What must not: the operator's own
identity touching tenant objects.
"""
