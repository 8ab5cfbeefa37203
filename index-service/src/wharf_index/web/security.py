"""The headers every web page carries (OWASP Secure Headers; CSP Level 3, W3C).

- ``Content-Security-Policy``: scripts, styles, images and forms from this origin only; no
  inline script or style (templates hold none), no plugins, no framing
  (``frame-ancestors 'none'``), no ``<base>``.
- ``Referrer-Policy: same-origin``, ``X-Content-Type-Options: nosniff``,
  ``Cross-Origin-Opener-Policy: same-origin``.
- Pages that depend on who is signed in are ``Cache-Control: no-store``.
The session cookie is ``Secure`` when INDEX_PUBLIC_URL is https (app.py), HttpOnly and
SameSite=Lax.
"""

from __future__ import annotations

from . import bp

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@bp.after_request
def secure_headers(response):
    """Add :data:`HEADERS` to every response of the web pages (static files included)."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response
