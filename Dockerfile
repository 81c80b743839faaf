FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY replica_core ./replica_core
COPY gateway ./gateway
COPY identity ./identity
RUN pip install --no-cache-dir .
EXPOSE 4943
VOLUME ["/data"]
CMD ["icbox", "start", "--host", "0.0.0.0", "--port", "4943", "--data-dir", "/data"]
