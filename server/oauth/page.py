"""The consent page's HTML and the headers every consent response carries.

Every value that reaches the page is escaped. The page cannot be framed (X-Frame-Options and CSP
frame-ancestors), runs no script, loads nothing, posts only to itself (and may follow the redirect
to the client's registered redirect URI), and is never cached or sent as a referrer.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse

_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;"
    "color:#1b1b1b}h1{font-size:1.35rem}input[type=password]{width:100%;padding:.5rem;"
    "font:inherit;box-sizing:border-box}button{font:inherit;padding:.45rem 1.1rem;margin:.8rem "
    ".6rem 0 0}.error{background:#fdecea;border-left:4px solid #c62828;padding:.6rem .8rem}"
    ".small{color:#555;font-size:.9rem}code{background:#f3f3f3;padding:0 .2rem}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()


def security_headers(form_target: str | None = None) -> dict[str, str]:
    """Headers for every consent response. `form_target` is the client's redirect URI, which the
    form's submission may be redirected to (browsers apply form-action to that redirect)."""
    form_action = "'self'"
    if form_target:
        form_action += " " + _source(form_target)
    return {
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action {form_action}; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


def _source(uri: str) -> str:
    """A CSP source for a redirect URI: its origin, or its scheme for an app's own scheme."""
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def consent_page(
    *,
    action: str,
    request_id: str,
    csrf_token: str,
    client_name: str,
    redirect_uri: str,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The form asking for a Cekura API key, with the pending request and its CSRF token."""
    name = escape((client_name or "An MCP client")[:80])
    returns_to = escape(urlsplit(redirect_uri).netloc or urlsplit(redirect_uri).scheme + ":")
    notice = f'<p class="error" role="alert">{escape(error)}</p>\n' if error else ""
    body = (
        "<h1>Connect cekura-optimise</h1>\n"
        f"<p><strong>{name}</strong> (returning to <code>{returns_to}</code>) asks to use "
        "cekura-optimise on your behalf: to run Cekura's optimiser on your metrics and, when you "
        "ask it to, apply proposals that pass the guard.</p>\n"
        f"{notice}"
        f'<form method="post" action="{escape(action)}" autocomplete="off">\n'
        f'<input type="hidden" name="request" value="{escape(request_id)}">\n'
        f'<input type="hidden" name="csrf_token" value="{escape(csrf_token)}">\n'
        '<label for="api_key">Your Cekura API key (Cekura → Settings → API Keys)</label>\n'
        '<input type="password" id="api_key" name="api_key" required autofocus '
        'spellcheck="false">\n'
        '<button type="submit" name="decision" value="allow">Allow</button>'
        '<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>\n'
        "</form>\n"
        '<p class="small">The server checks the key with Cekura, stores it encrypted, and uses it '
        "only for tool calls made with this connection. Revoking the connection deletes it. Only "
        "allow this if you started connecting just now.</p>"
    )
    return HTMLResponse(
        _document("Connect cekura-optimise", body),
        status_code=status_code,
        headers=security_headers(redirect_uri),
    )


def message_page(title: str, text: str, status_code: int) -> HTMLResponse:
    """A page that only explains (expired request, failed security check, too many attempts)."""
    body = f"<h1>{escape(title)}</h1>\n<p>{escape(text)}</p>"
    return HTMLResponse(_document(title, body), status_code=status_code, headers=security_headers())
