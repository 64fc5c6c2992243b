/* SPDX-License-Identifier: MIT */
#include "daemon/workers.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "engine/crypt.h"
#include "engine/device.h"

/* Below this many packets a slice costs more to hand over than to do. */
enum { MIN_PACKETS_PER_SLICE = 8 };

struct wm_workers {
	pthread_mutex_t lock;
	pthread_cond_t work_ready, work_done;
	unsigned threads;		/* including the caller */
	unsigned long generation;	/* bumped for every batch handed out */
	unsigned pending;		/* slices not yet finished */
	unsigned slices;		/* slices in the current batch */
	struct wm_packet *pkts;
	size_t n;
	bool stopping;
	pthread_t *ids;
};

static void slice_bounds(size_t n, unsigned slices, unsigned k, size_t *start, size_t *count)
{
	size_t base = n / slices, extra = n % slices;

	*start = k * base + (k < extra ? k : extra);
	*count = base + (k < extra ? 1 : 0);
}

struct worker_arg {
	struct wm_workers *w;
	unsigned slot;		/* 1..threads-1; the caller is slot 0 */
};

static void *worker_main(void *arg)
{
	struct worker_arg *a = arg;
	struct wm_workers *w = a->w;
	unsigned slot = a->slot;
	unsigned long seen = 0;

	free(a);
	pthread_mutex_lock(&w->lock);
	for (;;) {
		size_t start, count;

		while (!w->stopping && w->generation == seen)
			pthread_cond_wait(&w->work_ready, &w->lock);
		if (w->stopping)
			break;
		seen = w->generation;
		if (slot >= w->slices)
			continue;
		slice_bounds(w->n, w->slices, slot, &start, &count);
		pthread_mutex_unlock(&w->lock);
		wm_crypt_packets(w->pkts + start, count);
		pthread_mutex_lock(&w->lock);
		if (--w->pending == 0)
			pthread_cond_signal(&w->work_done);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct wm_workers *wm_workers_create(unsigned threads)
{
	struct wm_workers *w = calloc(1, sizeof(*w));
	unsigned i;

	if (!w)
		return NULL;
	w->threads = threads ? threads : 1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work_ready, NULL);
	pthread_cond_init(&w->work_done, NULL);
	w->ids = calloc(w->threads, sizeof(*w->ids));
	if (!w->ids)
		goto fail;
	for (i = 1; i < w->threads; i++) {
		struct worker_arg *a = malloc(sizeof(*a));

		if (!a)
			goto fail_threads;
		a->w = w;
		a->slot = i;
		if (pthread_create(&w->ids[i], NULL, worker_main, a) != 0) {
			free(a);
			goto fail_threads;
		}
	}
	return w;
fail_threads:
	w->threads = i;
	wm_workers_destroy(w);
	return NULL;
fail:
	free(w);
	return NULL;
}

void wm_workers_crypt(struct wm_workers *w, struct wm_packet *pkts, size_t n)
{
	unsigned slices = w->threads;
	size_t start, count;

	while (slices > 1 && n / slices < MIN_PACKETS_PER_SLICE)
		slices--;
	if (slices <= 1) {
		wm_crypt_packets(pkts, n);
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->pkts = pkts;
	w->n = n;
	w->slices = slices;
	w->pending = slices - 1;
	w->generation++;
	pthread_cond_broadcast(&w->work_ready);
	pthread_mutex_unlock(&w->lock);

	slice_bounds(n, slices, 0, &start, &count);
	wm_crypt_packets(pkts + start, count);

	pthread_mutex_lock(&w->lock);
	while (w->pending)
		pthread_cond_wait(&w->work_done, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

unsigned wm_workers_count(const struct wm_workers *w)
{
	return w->threads;
}

void wm_workers_destroy(struct wm_workers *w)
{
	unsigned i;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->work_ready);
	pthread_mutex_unlock(&w->lock);
	for (i = 1; i < w->threads; i++)
		pthread_join(w->ids[i], NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->work_ready);
	pthread_cond_destroy(&w->work_done);
	free(w->ids);
	free(w);
}
