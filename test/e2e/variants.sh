#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The data-path variants must carry traffic as the default does: without offloads
# (--no-offload: no vnet header, no UDP GSO/GRO) and with one crypto thread (--threads 1).
# Runs the core interop scenarios for each, wiremesh against itself and against wireguard-go.
# Needs root (skips otherwise, through interop.sh).

set -u
here=$(dirname "$0")
status=0
for args in "--no-offload" "--threads 1"; do
	WM_ARGS=$args PAIRS=${VARIANT_PAIRS:-wiremesh:wiremesh wiremesh:wireguard-go} \
		SCENARIOS=${VARIANT_SCENARIOS:-ping transfer roaming} TRANSFER_MB=${VARIANT_MB:-64} \
		bash "$here/interop.sh" || status=1
done
exit $status
