"""yibao mobilepay register | platform-key: the mobile-payment centre's keys (docs/mobilepay.md)."""

from __future__ import annotations

import typer

from yibao.cli.root import app, print_json
from yibao.errors import Refusal
from yibao.mobilepay.keys import platform_public_key, register_app
from yibao.store.db import Store

mobilepay_app = typer.Typer(no_args_is_help=True, help="Mobile-payment centre (6201-6401) keys")
app.add_typer(mobilepay_app, name="mobilepay")


@mobilepay_app.command("register")
def mobilepay_register(fixmedins_code: str) -> None:
    """Give an institution a mobile-payment app: prints its appId, its SM2 private key (for its own
    configuration; the platform keeps only the public key) and the platform's public key."""
    store = Store()
    try:
        app_id, private_key, platform_key = register_app(store, fixmedins_code)
    except Refusal as exc:
        typer.echo(exc.err_msg, err=True)
        raise typer.Exit(1) from None
    finally:
        store.dispose()
    print_json({"app_id": app_id, "private_key": private_key, "platform_public_key": platform_key})


@mobilepay_app.command("platform-key")
def mobilepay_platform_key() -> None:
    """The platform's SM2 public key, which institutions use to check its answers."""
    typer.echo(platform_public_key(Store()))
