"""The personal part of a gated page: the meter banner or the gate, in the publisher's copy.

This is the only per-reader rendering in proxy mode; everything else about
a page is prepared once (:mod:`meterwall.gateway.cut`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from meterwall.access.live import LivePolicy
from meterwall.access.model import Decision, shows_full_text
from meterwall.identity.loginlinks import safe_next
from meterwall.settings import Settings
from meterwall.web.views import offer_view, wording

STYLESHEET = Path(__file__).parent.parent / "web" / "static" / "meterwall.css"
STYLESHEET_URL = "/_meterwall/meterwall.css"
SNIPPET = Path(__file__).parent.parent / "web" / "static" / "meterwall.js"


def stylesheet(settings: Settings) -> str:
    """meterwall's banner and gate CSS with the publisher's colours and fonts."""
    return settings.proxy.style.css_variables() + "\n" + STYLESHEET.read_text(encoding="utf-8")


class Inserts:
    """Renders the banner and the gate for one decision, in the live policy's copy and plans.

    The copy and plans come from the policy in force for the reader (the
    dashboard's newest version, with their experiment variant), as on the
    built-in site, not from the settings file.
    """

    def __init__(self, settings: Settings, env: jinja2.Environment) -> None:
        self._site_name = settings.site_name
        self._macros: Any = env.get_template("_gateway.html").module
        self.subscribe_url = settings.proxy.subscribe_url

    def banner(self, decision: Decision, live: LivePolicy) -> str:
        """The meter banner, shown above the body while the meter still allows reading."""
        if decision.outcome != "metered":
            return ""
        words = wording(live.copy, decision, self._site_name)
        return str(self._macros.banner(words, self.subscribe_url)).strip()

    def gate(self, decision: Decision, live: LivePolicy, path: str = "/") -> str:
        """The gate shown after the lede to a reader who is not entitled ("" otherwise).

        Its sign-in and register links bring the reader back to ``path`` (the
        story's own path on this site) once they are signed in.
        """
        if shows_full_text(decision):
            return ""
        words = wording(live.copy, decision, self._site_name)
        offers = [offer_view(o) for o in live.offers]
        signin = "/account/login?next=" + quote(safe_next(path, "/"), safe="/")
        markup = self._macros.gate(decision.outcome, words, offers, self.subscribe_url, signin)
        return str(markup).strip()
