"""The ops console: server-rendered pages for people (Jinja2, plain HTML forms, no JS).

Pages mirror the JSON API (orders, ops, warehouse) and call the same gateway. A person
logs in with an API key, kept in an HttpOnly, SameSite=Strict cookie scoped to /console;
every POST carries a CSRF token (an HMAC of that key). Rendering is pure: each page is a
dataclass of view data and `render(page)` turns it into HTML. Errors become pages or
flash messages a person can act on, never a stack trace.
"""

from api.console.routes import router
from api.console.session import csrf_token
from api.console.views import (
    Chrome,
    DashboardPage,
    ErrorPage,
    Flash,
    LoginPage,
    OrderPage,
    OrdersPage,
    WarehousePage,
    render,
    skip_hint,
)

__all__ = [
    "Chrome",
    "DashboardPage",
    "ErrorPage",
    "Flash",
    "LoginPage",
    "OrderPage",
    "OrdersPage",
    "WarehousePage",
    "csrf_token",
    "render",
    "router",
    "skip_hint",
]
