"""``landlord sops keygen --tenant NAME``: an age key for a tenant's encrypted Secrets."""

from __future__ import annotations

import click

from landlord import kube
from landlord.cli import console
from landlord.cluster import binaries
from landlord.settings import Settings
from landlord.tenants import sopskeys


@click.group("sops")
def sops_group() -> None:
    """SOPS keys for tenants (docs/secrets.md)."""


@sops_group.command("keygen")
@click.option("--tenant", "tenant", required=True, help="The tenant the key is for.")
@click.option(
    "--secret",
    "secret",
    default=sopskeys.SECRET,
    show_default=True,
    help="Name of the Secret that holds the key.",
)
@click.option(
    "-n",
    "--namespace",
    "namespace",
    default=None,
    help="Where to store it (default: the tenant's first namespace, where its sync lives).",
)
@click.option("--replace", is_flag=True, help="Replace an existing key Secret with a new key.")
@click.pass_obj
def keygen_command(
    settings: Settings, tenant: str, secret: str, namespace: str | None, replace: bool
) -> None:
    """Create an age key Secret for TENANT; print its public key and the snippets that use it.

    The private key goes into the Secret only: it is not printed or written to a file.
    """
    with console.build_progress() as progress:
        age_keygen = binaries.resolve(
            ["age-keygen"],
            cache_dir=settings.cluster.cache_dir,
            assets_dir=settings.cluster.assets_dir,
            progress=progress,
        )["age-keygen"]
    key = sopskeys.create(
        kube.connect(), tenant, age_keygen, secret=secret, namespace=namespace, replace=replace
    )
    console.out.print(
        f"✔ age key stored in Secret {key.namespace}/{key.secret} (entry {sopskeys.ENTRY})"
    )
    console.out.print(f"public key: {key.public}\n")
    console.out.print("# .sops.yaml, at the root of the tenant's repository:", highlight=False)
    console.out.print(key.sops_yaml(), highlight=False, markup=False)
    console.out.print("# the Kustomization's spec (a Tenant's own sync: spec.sync.decryption):")
    console.out.print(key.decryption(), highlight=False, markup=False)
    console.out.print(
        "# then: sops encrypt --in-place secret.yaml && git commit", highlight=False, markup=False
    )
