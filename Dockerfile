# konnect container image: non-root, works with a read-only root filesystem.
#   docker build -t konnect .
#   docker run --read-only -p 8777:8777 \
#     -v /etc/konnect:/etc/konnect:ro \
#     konnect serve --iss https://idp.example.com \
#       --signing-private-key /etc/konnect/signing-key.pem \
#       --encryption-secret /etc/konnect/encryption-secret.key \
#       --identifier-registration-conf /etc/konnect/identifier-registration.yaml \
#       users /etc/konnect/users.yaml
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    KONNECTD_LISTEN=0.0.0.0:8777

WORKDIR /src
COPY pyproject.toml README.md ./
# The package carries the sign-in web app; the example configs land in
# /usr/local/share/konnect/etc.
COPY konnect ./konnect
COPY etc ./etc
RUN pip install --no-compile . && rm -rf /src \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin konnect

USER 10001:10001
WORKDIR /
EXPOSE 8777
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
    CMD ["konnectd", "healthcheck"]
ENTRYPOINT ["konnectd"]
CMD ["serve", "--help"]
