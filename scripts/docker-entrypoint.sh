#!/bin/sh
# Entrypoint of the konnect container image, compatible with Kopano Konnect's image:
#   - a konnectd subcommand (serve, users, utils, healthcheck, version) or a bare flag runs
#     konnectd with it; any other command (`konnectd serve ...`, `sh`) runs as given;
#   - the words of $ARGS are appended to the command line.
# konnectd itself reads the Docker secrets (/run/secrets/konnectd_*) and KONNECTD_* variables.
set -eu

if [ "$#" -eq 0 ]; then
	set -- konnectd --help
fi

case "$1" in
	-* | serve | users | utils | healthcheck | version | help)
		set -- konnectd "$@"
		;;
esac

if [ -n "${ARGS:-}" ]; then
	set -f # split ARGS into words, but never expand them as file patterns
	# shellcheck disable=SC2086
	set -- "$@" $ARGS
	set +f
fi

exec "$@"
