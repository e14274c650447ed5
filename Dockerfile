# One image for every AeroAlpes service; docker-compose picks the module with `command`.

# The browser app: TypeScript from the contract, bundled by esbuild (make web does the same).
# buf generate reads the committed descriptor image (protos/ with buf/validate in it), not
# protos/: the buf/validate import comes from a Python package this stage does not have.
FROM node:20-slim AS web
WORKDIR /src
COPY package.json package-lock.json buf.yaml buf.gen.yaml ./
RUN npm ci --no-audit --no-fund
COPY generated/aeroalpes.protoset generated/
COPY web/ web/
RUN npx buf generate && node web/build.mjs

FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY generated/ generated/
COPY services/ services/
COPY --from=web /src/web/dist/ web/dist/
ENV PYTHONPATH=/app:/app/generated \
    PYTHONUNBUFFERED=1 \
    AEROALPES_HOST=0.0.0.0 \
    AEROALPES_VAR_DIR=/var/lib/aeroalpes
RUN useradd --uid 10001 --no-create-home aeroalpes \
    && mkdir -p /var/lib/aeroalpes /var/lib/aeroalpes-key \
    && chown aeroalpes /var/lib/aeroalpes /var/lib/aeroalpes-key \
    && chmod 700 /var/lib/aeroalpes-key
USER aeroalpes
CMD ["python", "-m", "services.sagas"]
