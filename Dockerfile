# One image for every AeroAlpes service; docker-compose picks the module with `command`.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY generated/ generated/
COPY services/ services/
ENV PYTHONPATH=/app:/app/generated \
    PYTHONUNBUFFERED=1 \
    AEROALPES_HOST=0.0.0.0 \
    AEROALPES_VAR_DIR=/var/lib/aeroalpes
RUN useradd --uid 10001 --no-create-home aeroalpes \
    && mkdir -p /var/lib/aeroalpes && chown aeroalpes /var/lib/aeroalpes
USER aeroalpes
CMD ["python", "-m", "services.sagas"]
