FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DISPATCHWISE_DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY dispatcher ./dispatcher
COPY forecasting ./forecasting
COPY api ./api
RUN pip install --no-cache-dir . \
 && useradd --create-home --uid 10001 dispatchwise \
 && mkdir -p /data && chown dispatchwise /data
USER dispatchwise
EXPOSE 8000
ENTRYPOINT ["dispatchwise"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
