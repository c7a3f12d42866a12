"""`localsection custom-fields ...`: define custom fields of tasks/projects and set their values."""

from __future__ import annotations

import json
from typing import Any

import typer

from localsection import accounts
from localsection.cli.common import admin_ctx, fail, open_db, refusals_fail
from localsection.domain import custom_fields as cf
from localsection.models import CustomField
from localsection.render.custom_fields import definition

app = typer.Typer(help="Custom fields of tasks and projects: define them, list them, set values.",
                  no_args_is_help=True)






def _shape(field: CustomField) -> dict[str, Any]:
    return {**definition(field), "for": field.applies_to}


def _echo_field(data: dict[str, Any]) -> None:
    options = f" options={','.join(data['options'])}" if data["options"] else ""
    descr = f" - {data['descr']}" if data["descr"] else ""
    typer.echo(f"{data['id']}\t{data['for']}\t{data['type']}\t{data['name']}{options}{descr}")


@app.command("create")
def create(account: str = typer.Option(..., "--account", help="Account name."),
           applies_to: str = typer.Option(..., "--for", help="task or project."),
           name: str = typer.Option(..., "--name"),
           type_: str = typer.Option(..., "--type", help=f"One of: {', '.join(cf.TYPES)}."),
           descr: str = typer.Option("", "--descr", help="Description."),
           option: list[str] = typer.Option([], "--option", help="A choice of select/multiselect (repeat)."),
           json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Define a custom field of tasks or projects."""
    db = open_db()
    data: dict[str, Any] = {}
    with refusals_fail(cf.CustomFieldError), db.session() as s:
        data = _shape(cf.create_field(admin_ctx(s, db.settings, account), applies_to=applies_to.strip().lower(),
                                      name=name, type_=type_.strip().lower(), descr=descr, options=option))
    if json_out:
        typer.echo(json.dumps(data))
    else:
        _echo_field(data)


@app.command("list")
def list_(account: str = typer.Option(..., "--account", help="Account name."),
          json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the account's custom fields (task fields first)."""
    db = open_db()
    rows: list[dict[str, Any]] = []
    try:
        with db.session(write=False) as s:
            rows = [_shape(f) for f in cf.list_fields(admin_ctx(s, db.settings, account))]
    except accounts.AccountError as exc:
        fail(str(exc))
    if json_out:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        _echo_field(row)


@app.command("set")
def set_(account: str = typer.Option(..., "--account", help="Account name."),
         field: int = typer.Option(..., "--field", help="Custom field id."),
         object_id: int = typer.Option(..., "--object", help="Task or project id (by the field's kind)."),
         value: str = typer.Option(..., "--value", help="The value; empty clears it. multiselect: a,b."),
         json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Set (or clear) the value of a custom field on one task or project."""
    db = open_db()
    stored: Any = None
    with refusals_fail(cf.CustomFieldError), db.session() as s:
        stored = cf.set_value(admin_ctx(s, db.settings, account), field_id=field, object_id=object_id, value=value)
    if json_out:
        typer.echo(json.dumps({"field": str(field), "object": str(object_id), "value": stored}))
    else:
        typer.echo("value cleared" if stored is None else f"value set: {json.dumps(stored)}")
