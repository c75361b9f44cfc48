"""Feeds cut to the lede, and never read with entities or the network."""

from __future__ import annotations

import json

import pytest

from meterwall.gateway.feeds import FeedError, cut_feed, is_feed_type, lede_of

LEDE = "LEDE The harbor reopened on Monday under a bright and windy sky."
BODY = "".join(
    f"<p>SECRET-{i} More of the story that only subscribers may read.</p>" for i in range(4)
)


def test_rss_description_and_content_encoded() -> None:
    feed = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<channel><title>T</title><description>Channel text stays</description>"
        "<item><title>A</title>"
        f"<description><![CDATA[<p>{LEDE}</p>{BODY}]]></description>"
        f"<content:encoded><![CDATA[<p>{LEDE}</p>{BODY}]]></content:encoded></item></channel></rss>"
    ).encode()
    out = cut_feed(feed)
    assert out is not None
    text = out.decode()
    assert "SECRET" not in text
    assert text.count("LEDE The harbor") == 2
    assert "Channel text stays" in text


def test_plain_text_rdf_items() -> None:
    feed = (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/"><item><title>A</title>'
        f"<description>{LEDE}\n\nSECRET-1 The rest of the text goes on at length.</description>"
        "</item></rdf:RDF>"
    ).encode()
    out = cut_feed(feed)
    assert out is not None and b"SECRET" not in out and b"LEDE" in out


def test_atom_xhtml_content() -> None:
    feed = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry><title>A</title>'
        f'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>{LEDE}</p>{BODY}'
        "</div></content></entry></feed>"
    ).encode()
    out = cut_feed(feed)
    assert out is not None and b"SECRET" not in out and b"LEDE" in out


def test_broken_feeds_are_read_leniently_or_refused() -> None:
    broken = (
        f"<rss><channel><item><description>&lt;p&gt;{LEDE}&lt;/p&gt;{BODY}<br></description></item>"
    ).encode()
    out = cut_feed(broken)
    assert out is not None and b"SECRET" not in out
    with pytest.raises(FeedError):
        cut_feed(b"\x00\x00<rss><item>SECRET")


def test_other_xml_is_not_a_feed() -> None:
    assert cut_feed(b'<?xml version="1.0"?><urlset><url><loc>x</loc></url></urlset>') is None
    assert cut_feed(b"not xml at all") is None


def test_entities_and_external_dtds_are_never_resolved(tmp_path: object) -> None:
    feed = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<rss><channel><item><description>&x;</description></item></channel></rss>"
    )
    out = cut_feed(feed)
    assert out is None or b"root:" not in out


def test_lede_by_words() -> None:
    assert lede_of(f"<p>{LEDE}</p>{BODY}", words=3) == ["LEDE The harbor …"]
    assert lede_of("<p>Short.</p><p>" + LEDE + "</p>" + BODY) == ["Short.", LEDE]


MEDIA = "http://search.yahoo.com/mrss/"


def test_text_nested_at_any_depth_below_an_item_is_cut() -> None:
    body = f"<p>{LEDE}</p>{BODY}"
    feed = (
        f'<?xml version="1.0"?><rss version="2.0" xmlns:media="{MEDIA}" '
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:x="urn:x">'
        "<channel><title>T</title><item><title>KEEP-TITLE A story</title>"
        "<link>http://news.example/a</link><guid>KEEP-GUID-1</guid>"
        "<category>KEEP-CATEGORY</category>"
        "<media:group><media:title>KEEP-MEDIA-TITLE</media:title>"
        f"<media:description><![CDATA[{body}]]></media:description>"
        '<media:content url="http://news.example/a.jpg" medium="image">'
        f"<media:description>{LEDE}\n\nSECRET-9 A caption of the content.</media:description>"
        "</media:content></media:group>"
        f"<itunes:summary>{LEDE}\n\nSECRET-8 The summary goes on.</itunes:summary>"
        f"<x:extra><x:deeper><![CDATA[{body}]]></x:deeper></x:extra>"
        "<!-- SECRET-7 a comment with the story -->"
        "</item></channel></rss>"
    ).encode()
    out = cut_feed(feed)
    assert out is not None
    text = out.decode()
    assert "SECRET" not in text, text
    for kept in ("KEEP-TITLE", "KEEP-GUID-1", "KEEP-CATEGORY", "KEEP-MEDIA-TITLE", "a.jpg"):
        assert kept in text
    assert text.count("LEDE The harbor") >= 3


def test_json_feed_items_are_cut_to_the_lede() -> None:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "The Example Ledger",
        "items": [
            {
                "id": "KEEP-ID-1",
                "url": "http://news.example/a",
                "title": "KEEP-TITLE A story",
                "content_html": f"<p>{LEDE}</p>{BODY}",
                "content_text": f"{LEDE}\n\nSECRET-5 The plain text goes on and on for a while.",
                "summary": f"{LEDE}\n\nSECRET-6 The summary is the whole story here.",
                "authors": [{"name": "KEEP-AUTHOR"}],
                "tags": ["KEEP-TAG"],
                "_ext": {"body": {"full": f"{LEDE}\n\nSECRET-7 An extension carries it all."}},
            }
        ],
    }
    out = cut_feed(json.dumps(feed).encode())
    assert out is not None
    text = out.decode()
    assert "SECRET" not in text
    data = json.loads(text)
    item = data["items"][0]
    assert LEDE in item["content_html"] and LEDE in item["content_text"]
    for kept in ("KEEP-ID-1", "KEEP-TITLE", "KEEP-AUTHOR", "KEEP-TAG"):
        assert kept in text


def test_json_that_is_not_a_feed_is_not_cut_and_broken_json_fails_closed() -> None:
    assert cut_feed(b'{"items": [{"content_text": "x"}]}') is None
    with pytest.raises(FeedError):
        cut_feed(b'{"version": "https://jsonfeed.org/version/1", "items": [')


def test_json_feed_media_type_goes_to_the_feed_cutter() -> None:
    assert is_feed_type("application/feed+json")
    assert not is_feed_type("application/json")
