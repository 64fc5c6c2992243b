/* SPDX-License-Identifier: MIT */
#include "common/prom.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void wm_prom_init(struct wm_prom *p)
{
	memset(p, 0, sizeof(*p));
}

char *wm_prom_finish(struct wm_prom *p, size_t *len)
{
	char *text = p->buf;

	if (p->failed || !text) {
		free(text);
		text = p->failed ? NULL : strdup("");
		if (len)
			*len = 0;
	} else if (len) {
		*len = p->len;
	}
	wm_prom_init(p);
	return text;
}

static bool reserve(struct wm_prom *p, size_t more)
{
	size_t cap = p->cap ? p->cap : 4096;
	char *b;

	if (p->failed)
		return false;
	if (p->len + more + 1 <= p->cap)
		return true;
	while (cap < p->len + more + 1)
		cap *= 2;
	b = realloc(p->buf, cap);
	if (!b) {
		free(p->buf);
		p->buf = NULL;
		p->failed = true;
		return false;
	}
	p->buf = b;
	p->cap = cap;
	return true;
}

static void put(struct wm_prom *p, const char *s, size_t n)
{
	if (!reserve(p, n))
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void puts_(struct wm_prom *p, const char *s)
{
	put(p, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void putf(struct wm_prom *p, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(p, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* HELP text escapes backslash and newline; label values also the double quote. */
static void put_escaped(struct wm_prom *p, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			puts_(p, "\\\\");
		else if (*s == '\n')
			puts_(p, "\\n");
		else if (*s == '"' && quote)
			puts_(p, "\\\"");
		else
			put(p, s, 1);
	}
}

void wm_prom_family(struct wm_prom *p, const char *name, const char *type, const char *help)
{
	putf(p, "# HELP %s ", name);
	put_escaped(p, help, false);
	putf(p, "\n# TYPE %s %s\n", name, type);
}

static void put_name(struct wm_prom *p, const char *name, const struct wm_prom_label *labels,
		     size_t n_labels)
{
	size_t i;

	puts_(p, name);
	if (!n_labels)
		return;
	put(p, "{", 1);
	for (i = 0; i < n_labels; i++) {
		if (i)
			put(p, ",", 1);
		puts_(p, labels[i].name);
		put(p, "=\"", 2);
		put_escaped(p, labels[i].value, true);
		put(p, "\"", 1);
	}
	put(p, "}", 1);
}

/* The shorter of %.15g and %.17g that reads back as v: 0.1, not 0.10000000000000001. */
static void put_shortest(struct wm_prom *p, double v)
{
	char text[40];

	snprintf(text, sizeof(text), "%.15g", v);
	if (strtod(text, NULL) != v)
		snprintf(text, sizeof(text), "%.17g", v);
	puts_(p, text);
}

static void put_double(struct wm_prom *p, double v)
{
	if (isnan(v))
		puts_(p, "NaN");
	else if (isinf(v))
		puts_(p, v > 0 ? "+Inf" : "-Inf");
	else
		put_shortest(p, v);
}

void wm_prom_sample(struct wm_prom *p, const char *name, const struct wm_prom_label *labels,
		    size_t n_labels, double value)
{
	put_name(p, name, labels, n_labels);
	put(p, " ", 1);
	put_double(p, value);
	put(p, "\n", 1);
}

void wm_prom_sample_u64(struct wm_prom *p, const char *name, const struct wm_prom_label *labels,
			size_t n_labels, uint64_t value)
{
	put_name(p, name, labels, n_labels);
	putf(p, " %" PRIu64 "\n", value);
}

void wm_prom_counter(struct wm_prom *p, const char *name, const char *help, uint64_t value)
{
	wm_prom_family(p, name, "counter", help);
	wm_prom_sample_u64(p, name, NULL, 0, value);
}

void wm_prom_gauge(struct wm_prom *p, const char *name, const char *help, double value)
{
	wm_prom_family(p, name, "gauge", help);
	wm_prom_sample(p, name, NULL, 0, value);
}

uint64_t wm_prom_resident_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "re");
	int ok;

	if (!f)
		return 0;
	ok = fscanf(f, "%lu %lu", &size, &resident) == 2;
	fclose(f);
	return ok ? (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

void wm_prom_process(struct wm_prom *p, double start_time)
{
	wm_prom_gauge(p, "process_resident_memory_bytes", "Resident memory size in bytes.",
		      (double)wm_prom_resident_bytes());
	wm_prom_gauge(p, "process_start_time_seconds",
		      "Start time of the process since the UNIX epoch in seconds.", start_time);
}

void wm_prom_histogram_init(struct wm_prom_histogram *h, const double *bounds, size_t n_bounds)
{
	memset(h, 0, sizeof(*h));
	h->bounds = bounds;
	h->n_bounds = n_bounds < WM_PROM_MAX_BUCKETS ? n_bounds : WM_PROM_MAX_BUCKETS;
}

void wm_prom_histogram_observe(struct wm_prom_histogram *h, double value)
{
	size_t i = 0;

	while (i < h->n_bounds && value > h->bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += value;
}

void wm_prom_histogram_write(struct wm_prom *p, const char *name, const char *help,
			     const struct wm_prom_histogram *h)
{
	char sample[128], le[32];
	struct wm_prom_label label = { "le", le };
	uint64_t cumulative = 0;
	size_t i;

	wm_prom_family(p, name, "histogram", help);
	snprintf(sample, sizeof(sample), "%s_bucket", name);
	for (i = 0; i <= h->n_bounds; i++) {
		cumulative += h->counts[i];
		if (i < h->n_bounds)
			snprintf(le, sizeof(le), "%g", h->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		wm_prom_sample_u64(p, sample, &label, 1, cumulative);
	}
	snprintf(sample, sizeof(sample), "%s_sum", name);
	wm_prom_sample(p, sample, NULL, 0, h->sum);
	snprintf(sample, sizeof(sample), "%s_count", name);
	wm_prom_sample_u64(p, sample, NULL, 0, h->count);
}
