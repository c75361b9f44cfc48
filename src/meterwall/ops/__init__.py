"""Operations: running meterwall in production and seeing what it does.

Glossary
--------
Request context
    The per-request facts that logs and metrics share: the request id and the
    access decision's outcome (:mod:`meterwall.ops.context`).
Metrics
    Prometheus counters and histograms, served at ``/metrics``
    (:mod:`meterwall.ops.metrics`); the meter store and the access service are
    wrapped so every call is measured (:mod:`meterwall.ops.instrument`).
Request log
    One structured JSON line per request (:mod:`meterwall.ops.logging` and
    :mod:`meterwall.ops.middleware`).
Liveness and readiness
    ``/healthz`` says the process answers; ``/readyz`` says every store
    answers (:mod:`meterwall.ops.health`).
Server
    ``meterwall serve``: uvicorn with N worker processes, settings checked
    before the first worker starts (:mod:`meterwall.ops.server`,
    :mod:`meterwall.ops.preflight`, :mod:`meterwall.asgi`).
"""
