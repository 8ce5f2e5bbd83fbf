# konnect container image: non-root, works with a read-only root filesystem.
#   docker build -t konnect .
#   docker run --read-only -p 8777:8777 \
#     -v /etc/konnect:/etc/konnect:ro -v konnect-data:/var/lib/konnect \
#     konnect serve --iss https://idp.example.com \
#       --signing-private-key /etc/konnect/signing-key.pem \
#       --encryption-secret /etc/konnect/encryption-secret.key \
#       --identifier-registration-conf /etc/konnect/identifier-registration.yaml \
#       users /etc/konnect/users.yaml
# Like Kopano Konnect's image, it reads the secrets /run/secrets/konnectd_signing_private_key,
# konnectd_encryption_secret, konnectd_validation_keys, konnectd_ldap_bind_dn and
# konnectd_ldap_bind_password, the files of /etc/kopano, and appends $ARGS to the command.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    KONNECTD_LISTEN=0.0.0.0:8777 \
    KONNECTD_DATA_DIR=/var/lib/konnect \
    ARGS=""

# xmlsec1 checks the signatures of SAML identity providers.
RUN apt-get update && apt-get install -y --no-install-recommends xmlsec1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
# The package carries the sign-in web app; the example configs land in
# /usr/local/share/konnect/etc.
COPY konnect ./konnect
COPY etc ./etc
COPY scripts/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN pip install --no-compile . && rm -rf /src \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin konnect \
    && install -d -m 0700 -o 10001 -g 10001 /var/lib/konnect

USER 10001:10001
# The sqlite state store (used codes, refresh-token families, revocations) must outlive
# the container.
VOLUME /var/lib/konnect
WORKDIR /
EXPOSE 8777
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
    CMD ["konnectd", "healthcheck"]
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["serve", "--help"]
