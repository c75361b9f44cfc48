"""The shared upstream cache of proxy mode.

meterwall keeps the publisher's un-personalised upstream responses (by URL,
``Accept-Encoding`` and configured ``Vary`` headers) in memory or in Redis,
honouring the upstream's HTTP caching headers, and remembers the gated and
full-text outcome of each cached article page, so that a request costs the
reader's decision and the insertion of their banner or gate, not a trip to
a slow CMS.  See ``docs/gateway-cache.md``.
"""
