/* SPDX-License-Identifier: MIT */
/*
 * Crypto workers: the loop thread hands a batch's AEAD work out in slices and
 * does one slice itself, then waits for the rest (fork-join per batch). Batch
 * order is kept because only the crypto runs in parallel; the engine's
 * bookkeeping before and after stays on the loop thread.
 */
#ifndef WM_WORKERS_H
#define WM_WORKERS_H

#include <stddef.h>

struct wm_packet;
struct wm_workers;

/* threads = cores to use in all, the caller's included; 1 = no extra threads. NULL on failure. */
struct wm_workers *wm_workers_create(unsigned threads);

/* Runs wm_crypt_packets over the batch on all threads; returns when every slice is done. */
void wm_workers_crypt(struct wm_workers *w, struct wm_packet *pkts, size_t n);

unsigned wm_workers_count(const struct wm_workers *w);

void wm_workers_destroy(struct wm_workers *w);

#endif
