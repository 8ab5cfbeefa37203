"""The Index's web pages: server-rendered HTML over the same services as ``/api/v1``.

Every page works without JavaScript (``static/wharf.js`` only adds copy buttons and asks
before ``data-confirm`` forms); every asset ships in this package (no CDN), so the pages
work on a network with no internet. Modules, one per surface: ``home`` (/), ``search``
(/search), ``signin`` (/signin, /signout), ``signup`` (/signup), ``account``
(/account, /account/password, /account/tokens), ``admin_invitations``
(/admin/invitations), ``repository`` (/r/NAME: a repository, its stars
and comments), ``people`` (/u/<username>), ``orgs``
(/orgs/new, /orgs/<org> and its owners' pages), ``tag`` (/r/<name>/-/tags/<tag>),
``settings`` (/r/<name>/-/settings), ``webhooks_pages`` (/r/<name>/-/webhooks,
/u/<user>/-/webhooks, /orgs/<org>/-/webhooks), ``admin`` (/admin/...: administrators
only); ``session`` (who is signed in, CSRF for forms), ``security`` (the headers every
page carries), ``errors`` (HTML error pages), ``formatting`` (template filters),
``markdown`` (user text as sanitised HTML).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/-/static",
)


def init_app(app, context) -> None:
    """Register the template filters and globals the pages use."""
    from . import formatting, session

    formatting.register(app)
    app.jinja_env.globals.update(
        csrf_token=session.form_csrf_token,
        signed_in=session.signed_in_user,
        signup_mode=context.settings.signup,
    )


from . import (  # noqa: E402,F401 - register the routes
    account,
    admin,
    admin_invitations,
    errors,
    home,
    orgs,
    people,
    repository,
    search,
    security,
    settings,
    signin,
    signup,
    tag,
    webhooks_pages,
)
