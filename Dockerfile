FROM python:3.13-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends gettext postgresql-client \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
RUN DEV_KEYS=true python manage.py compilemessages --ignore .venv -v 0 \
    && rm -rf var/keys
RUN useradd --create-home imigrasi && mkdir -p var/private && chown -R imigrasi var
USER imigrasi
EXPOSE 8000
