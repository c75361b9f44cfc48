"""Proxy mode in front of a real WordPress (Debian's 6.1, MariaDB), hard paywall: issue 11.

meterwall runs as a live server configured as the README's "In front of
WordPress" section says (``preserve_host``, the permalink pattern, the upstream
cache), with ``anonymous_limit = 0``, plus a free and an excluded section.  Each
request is sent with its target exactly as written (no client-side dot-segment
removal), and every response (redirects followed through the proxy) must carry
no run of three consecutive words of any story's gated body, in any reading
(:func:`tests.fixtures.stories.gated_runs`).  Where a row is an attack on the
upstream itself, a control first shows that WordPress answers it with the full
text, so the row cannot pass because WordPress ignored the request.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.fixtures.stories import assert_no_gated_text, full_text_in, stories
from tests.fixtures.upstream.harness import LiveServer, live_proxy, send, through
from tests.fixtures.upstream.site import PUBLIC
from tests.fixtures.wordpress import HOST, WordPress

ARTICLE_PATTERN = r"^/\d{4}/\d{2}/[^/]+/$"
STORY = stories()[0]


def wordpress_proxy(folder: Path, wordpress: WordPress, **policy: object) -> Iterator[LiveServer]:
    """meterwall in front of WordPress with the README's configuration and ``policy``."""
    proxy = {
        "preserve_host": True,
        "article_patterns": [ARTICLE_PATTERN],
        "free_patterns": [r"^/live/"],
        "exclude_patterns": [r"^/tag/"],
    }
    cache = {"enabled": True}
    with live_proxy(
        folder, wordpress.url, public_url=PUBLIC, proxy=proxy, cache=cache, policy=policy
    ) as server:
        yield server


@pytest.fixture(scope="module")
def gated(wordpress: WordPress, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The proxy with a hard paywall: every anonymous reader is shown the teaser."""
    yield from wordpress_proxy(tmp_path_factory.mktemp("gated"), wordpress, anonymous_limit=0)


def assert_gated(server: LiveServer, target: str, **request: Any) -> None:
    """Every answer of the proxy to ``target`` (redirects followed) is free of gated text."""
    request["headers"] = {"Host": HOST, **request.get("headers", {})}
    for answer in through(server.url, target, **request):
        assert answer.status_code < 500, f"{target}: {answer.status_code}"
        assert_no_gated_text(answer, f"{request.get('method', 'GET')} {target}")


def test_a_metered_reader_gets_the_whole_story(wordpress: WordPress, tmp_path: Path) -> None:
    """The control for every row below: the proxy and the page do carry the full text."""
    for server in wordpress_proxy(tmp_path, wordpress, anonymous_limit=5):
        page = send(server.url, wordpress.path(STORY), headers={"Host": HOST})
        assert page.status_code == 200
        assert full_text_in(page.text)


def test_the_article_page_is_gated(gated: LiveServer, wordpress: WordPress) -> None:
    for story in stories():
        with wordpress.client() as direct:
            assert full_text_in(direct.get(wordpress.path(story)).text)
        page = send(gated.url, wordpress.path(story), headers={"Host": HOST})
        assert page.status_code == 200
        assert story.headline in html.unescape(page.text).replace("\u2019", "'")
        assert_no_gated_text(page, wordpress.path(story))


# Row 1: paths that WordPress (through the proxy's upstream request) reads as the story.
PATH_VARIANTS = {
    "dot-first": lambda y, m, s: f"/./{y}/{m}/{s}/",
    "dot-middle": lambda y, m, s: f"/{y}/./{m}/{s}/",
    "dot-last": lambda y, m, s: f"/{y}/{m}/{s}/./",
    "dot-dot": lambda y, m, s: f"/{y}/{m}/x/../{s}/",
    "encoded-dot": lambda y, m, s: f"/{y}/{m}/{s}/%2e/",
    "encoded-dot-upper": lambda y, m, s: f"/{y}/{m}/{s}/%2E/",
    "encoded-dot-dot": lambda y, m, s: f"/{y}/{m}/x/%2e%2e/{s}/",
    "dot-dot-end": lambda y, m, s: f"/{y}/{m}/{s}/x/..",
    "free-section": lambda y, m, s: f"/live/../{y}/{m}/{s}/",
    "excluded-section": lambda y, m, s: f"/tag/../{y}/{m}/{s}/",
    "encoded-letter": lambda y, m, s: f"/{y}/{m}/%{ord(s[0]):02x}{s[1:]}/",
}


@pytest.mark.parametrize("variant", list(PATH_VARIANTS))
def test_path_variants_of_the_article_are_gated(
    gated: LiveServer, wordpress: WordPress, variant: str
) -> None:
    _, year, month, slug, _ = wordpress.path(STORY).split("/")
    assert_gated(gated, PATH_VARIANTS[variant](year, month, slug))


POSTS = "/wp/v2/posts"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# Row 2: the REST API, however it is spelled; (target, method, headers, body).
REST = {
    "wp-json": ("/wp-json/wp/v2/posts", "GET", {}, b""),
    "one-post": ("/wp-json/wp/v2/posts?slug={slug}", "GET", {}, b""),
    "rest_route": (f"/?rest_route={POSTS}", "GET", {}, b""),
    "rest.route": (f"/?rest.route={POSTS}", "GET", {}, b""),
    "rest%5Froute": (f"/?rest%5Froute={POSTS}", "GET", {}, b""),
    "%72est_route": (f"/?%72est_route={POSTS}", "GET", {}, b""),
    "rest+route": (f"/?rest+route={POSTS}", "GET", {}, b""),
    "rest%20route": (f"/?rest%20route={POSTS}", "GET", {}, b""),
    "rest[route": (f"/?rest[route={POSTS}", "GET", {}, b""),
    "rest_route-encoded": ("/?rest_route=%2Fwp%2Fv2%2Fposts", "GET", {}, b""),
    "index.php": ("/index.php/wp-json/wp/v2/posts", "GET", {}, b""),
    "index.php-query": (f"/index.php?rest_route={POSTS}", "GET", {}, b""),
    "double-slash": ("//wp-json/wp/v2/posts", "GET", {}, b""),
    "encoded-slash": ("/%2Fwp-json/wp/v2/posts", "GET", {}, b""),
    "dot-segment": ("/./wp-json/wp/v2/posts", "GET", {}, b""),
    "oembed-dot-dot": ("/wp-json/oembed/../wp/v2/posts", "GET", {}, b""),
    "jsonp": ("/wp-json/wp/v2/posts?_jsonp=read", "GET", {}, b""),
    "_method-body": ("/?_method=GET", "POST", FORM, f"rest_route={POSTS}".encode()),
    "method-override": (
        "/",
        "POST",
        {**FORM, "X-HTTP-Method-Override": "GET"},
        f"rest_route={POSTS}".encode(),
    ),
}


@pytest.mark.parametrize("spelling", list(REST))
def test_the_rest_api_gives_no_gated_text(
    gated: LiveServer, wordpress: WordPress, spelling: str
) -> None:
    target, method, headers, body = REST[spelling]
    target = target.format(slug=STORY.slug)
    control = send(wordpress.url, target, method, {"Host": HOST, **headers}, body)
    assert full_text_in(control.content), f"WordPress itself ignored {spelling}: control broken"
    assert_gated(gated, target, method=method, headers=headers, body=body)


def test_links_in_the_headers_lead_to_no_gated_text(
    gated: LiveServer, wordpress: WordPress
) -> None:
    page = send(gated.url, wordpress.path(STORY), headers={"Host": HOST})
    links = page.headers.get_list("link", split_commas=True)
    assert not [link for link in links if wordpress.url in link], "the upstream origin leaked"
    for link in links:
        url = urlsplit(link.split(">", 1)[0].strip(" <"))
        assert_gated(gated, url.path + (f"?{url.query}" if url.query else ""))


FEEDS = ["/feed/", "/feed/atom/", "/feed/rdf/", "/?feed=rss2", "/?feed=atom", "/comments/feed/"]


@pytest.mark.parametrize("feed", FEEDS)
def test_feeds_give_no_gated_text(gated: LiveServer, wordpress: WordPress, feed: str) -> None:
    with wordpress.client() as direct:
        assert full_text_in(direct.get("/feed/").content)
    assert_gated(gated, feed)


OTHER_VIEWS = {
    "front-page": "/",
    "search": "/?s=council",
    "month-archive": "/{y}/{m}/",
    "author-archive": "/author/editor/",
    "embed-view": "/{y}/{m}/{s}/embed/",
    "post-feed": "/{y}/{m}/{s}/feed/",
    "plain-permalink": "/?name={s}",
    "json-accept": "/{y}/{m}/{s}/",
}


@pytest.mark.parametrize("view", list(OTHER_VIEWS))
def test_other_views_of_the_site_give_no_gated_text(
    gated: LiveServer, wordpress: WordPress, view: str
) -> None:
    _, year, month, slug, _ = wordpress.path(STORY).split("/")
    target = OTHER_VIEWS[view].format(y=year, m=month, s=slug)
    headers = {"Accept": "application/json"} if view == "json-accept" else {}
    assert_gated(gated, target, headers=headers)


def _oembed(wordpress: WordPress) -> str:
    return f"/wp-json/oembed/1.0/embed?url={PUBLIC}{wordpress.path(STORY)}"


# Site features without article text keep working for every reader.
FEATURES = {
    "oembed": _oembed,
    "rest-index": lambda wp: "/wp-json/",
    "search-titles": lambda wp: "/wp-json/wp/v2/search?search=harbour",
}


@pytest.mark.parametrize("feature", list(FEATURES))
def test_site_features_without_article_text_keep_working(
    gated: LiveServer, wordpress: WordPress, feature: str
) -> None:
    answer = send(gated.url, FEATURES[feature](wordpress), headers={"Host": HOST})
    assert answer.status_code == 200, f"{feature}: {answer.status_code}"
    assert answer.headers["content-type"].startswith("application/json")
    answer.json()
    assert_no_gated_text(answer, feature)
