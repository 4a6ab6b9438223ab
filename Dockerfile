# One image for the API and the workers; the command picks the process.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends chromium \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY retaguarda retaguarda
COPY config config
COPY domain domain
COPY workflows workflows
COPY activities activities
COPY integrations integrations
COPY db db
COPY api api
COPY workers workers
COPY sandbox sandbox
RUN pip install --no-cache-dir .
RUN useradd --create-home retaguarda \
    && install -d -o retaguarda -g retaguarda /var/lib/retaguarda/documents
USER retaguarda
CMD ["retaguarda", "api"]
