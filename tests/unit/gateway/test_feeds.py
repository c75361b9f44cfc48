"""Feeds cut to the lede, and never read with entities or the network."""

from __future__ import annotations

import pytest

from meterwall.gateway.feeds import FeedError, cut_feed, lede_of

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
