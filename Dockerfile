# Front-end packages from npm, then the Python app served by gunicorn.
FROM node:20-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --create-home smarketing
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY --from=assets /app/node_modules ./node_modules
COPY . .
# Settings require the servers' URLs; collectstatic connects to neither.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=postgres://collectstatic@postgres/none \
    CELERY_BROKER_URL=redis://redis/0 python manage.py collectstatic --noinput -v0 \
    && mkdir -p var && chown -R smarketing var
USER smarketing
EXPOSE 8000
CMD ["gunicorn", "smarketing.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
