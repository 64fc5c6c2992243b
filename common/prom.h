/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus text exposition format (version 0.0.4), written: families with their HELP and
 * TYPE lines, samples with labels, and a fixed-bucket histogram. Output only; the tests read it
 * back with promtool. The text grows in a malloc'd buffer; a failed allocation makes every later
 * call a no-op and wm_prom_finish() return NULL, so writers need not check each line.
 */
#ifndef WM_PROM_H
#define WM_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WM_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define WM_PROM_MAX_BUCKETS 16

struct wm_prom {
	char *buf;
	size_t len, cap;
	bool failed;
};

struct wm_prom_label {
	const char *name;	/* [a-zA-Z_][a-zA-Z0-9_]*, the caller's constant */
	const char *value;	/* any UTF-8; escaped here */
};

void wm_prom_init(struct wm_prom *p);

/* The text (NUL-terminated, the caller frees it) and its length, or NULL when memory ran out
 * (then everything is freed). p is empty afterwards. */
char *wm_prom_finish(struct wm_prom *p, size_t *len);

/* "# HELP name help" (help escaped) and "# TYPE name type" (counter, gauge, histogram). Once per
 * family, before its samples. */
void wm_prom_family(struct wm_prom *p, const char *name, const char *type, const char *help);

/* One sample line: name{labels} value. NaN and infinities are written as Prometheus spells them. */
void wm_prom_sample(struct wm_prom *p, const char *name, const struct wm_prom_label *labels,
		    size_t n_labels, double value);
void wm_prom_sample_u64(struct wm_prom *p, const char *name, const struct wm_prom_label *labels,
			size_t n_labels, uint64_t value);

/* A family of one unlabelled sample. */
void wm_prom_counter(struct wm_prom *p, const char *name, const char *help, uint64_t value);
void wm_prom_gauge(struct wm_prom *p, const char *name, const char *help, double value);

/* process_resident_memory_bytes (from /proc/self/statm) and process_start_time_seconds, the
 * names Prometheus' client libraries use. */
void wm_prom_process(struct wm_prom *p, double start_time);

/* A histogram with fixed upper bounds (ascending, at most WM_PROM_MAX_BUCKETS; +Inf implied). */
struct wm_prom_histogram {
	const double *bounds;
	size_t n_bounds;
	uint64_t counts[WM_PROM_MAX_BUCKETS + 1];	/* per bucket, not cumulative; last: +Inf */
	uint64_t count;
	double sum;
};

void wm_prom_histogram_init(struct wm_prom_histogram *h, const double *bounds, size_t n_bounds);
void wm_prom_histogram_observe(struct wm_prom_histogram *h, double value);

/* The family with its _bucket (cumulative, le labels), _sum and _count samples. */
void wm_prom_histogram_write(struct wm_prom *p, const char *name, const char *help,
			     const struct wm_prom_histogram *h);

/* This process's resident memory in bytes (from /proc/self/statm), 0 when unknown. */
uint64_t wm_prom_resident_bytes(void);

#endif
