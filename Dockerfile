# meterwall: a multi-stage image. Build: docker build -t meterwall .
# Run with compose.yaml (PostgreSQL, Redis, a one-shot migration), or alone:
#   docker run -p 8000:8000 -e METERWALL_SECRET_KEY=... meterwall
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY src ./src
# Wheels for meterwall and every dependency at the versions CI tested (constraints.txt),
# built once; the runtime stage installs them without a compiler.
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c constraints.txt .

FROM python:3.11-slim AS runtime
RUN useradd --system --uid 10001 --home-dir /var/lib/meterwall --create-home meterwall
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels meterwall && rm -rf /wheels
USER meterwall
WORKDIR /var/lib/meterwall
ENV METERWALL_DATA_DIR=/var/lib/meterwall/data \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["meterwall", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
