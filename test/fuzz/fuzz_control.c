/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: what crosses the control socket (daemon/control.c). The input is a connection's
 * byte stream, framed by wm_control_parse_line as the server's reader does: whole, and as it
 * arrives in reads of two sizes (one taken from the input's length) into a buffer of the
 * server's size. Beyond not crashing: every way of reading gives the answer a naive reader
 * gives, at the read that brought the '\n' or filled the buffer. The same bytes are also a
 * reply as `wiremesh status` reads it (daemon/cli_status.c): printed (to /dev/null), and
 * refused exactly when they are not a JSON object.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon/cli.h"
#include "daemon/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { BUF_LEN = WM_CONTROL_MAX_LINE + 1 };

/* The reference: the first '\n' in the first BUF_LEN bytes ends the line. */
static int naive_frame(const uint8_t *data, size_t size)
{
	size_t i;

	for (i = 0; i < size && i < BUF_LEN; i++) {
		if (data[i] != '\n')
			continue;
		for (size_t j = 0; j < i; j++)
			if (!data[j])
				return -EBADMSG;
		return (int)i;
	}
	return size < BUF_LEN ? -EAGAIN : -EMSGSIZE;
}

/* A line that frames is the input's bytes up to the '\n', NUL-terminated in place. */
static void check_line(const char *buf, const uint8_t *data, int n)
{
	if (n >= 0 && (buf[n] || memcmp(buf, data, (size_t)n)))
		abort();
}

/*
 * As the server reads: into a buffer of its size, chunk bytes (or the room left) a read, until
 * the answer is more than -EAGAIN. It must be want, and come with the read that brought the
 * '\n' (at nl; -1 for none) or filled the buffer, not later.
 */
static void frame_in_reads(const uint8_t *data, size_t size, size_t chunk, int want, long nl)
{
	char *buf = malloc(BUF_LEN);
	size_t len = 0, prev = 0;
	int n = -EAGAIN;

	if (!buf)
		abort();
	while (len < size && len < BUF_LEN) {
		size_t r = chunk;

		if (r > BUF_LEN - len)
			r = BUF_LEN - len;
		if (r > size - len)
			r = size - len;
		memcpy(buf + len, data + len, r);
		prev = len;
		len += r;
		n = wm_control_parse_line(buf, len);
		if (n != -EAGAIN)
			break;
	}
	if (n != want)
		abort();
	if (nl >= 0 && !((size_t)nl >= prev && (size_t)nl < len))
		abort();
	if (nl < 0 && len != (size < BUF_LEN ? size : BUF_LEN))
		abort();
	check_line(buf, data, n);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	const uint8_t *p = memchr(data, '\n', size < BUF_LEN ? size : BUF_LEN);
	long nl = p ? p - data : -1;
	int want = naive_frame(data, size), n;
	char *whole, *text;
	json_t *o;

	if (!quiet) {
		/* The status printer writes to stdout; libFuzzer reports on stderr. */
		if (!freopen("/dev/null", "w", stdout))
			abort();
		quiet = true;
	}

	/* Exactly size bytes on the heap, so a read past them is caught. */
	whole = malloc(size ? size : 1);
	if (!whole)
		abort();
	memcpy(whole, data, size);
	n = wm_control_parse_line(whole, size);
	if (n != want)
		abort();
	check_line(whole, data, n);
	free(whole);

	frame_in_reads(data, size, 1 + size % 61, want, nl);
	frame_in_reads(data, size, 509, want, nl);

	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	o = json_loads(text, 0, NULL);
	if (wm_cli_print_status(text, false) != (json_is_object(o) ? 0 : 1))
		abort();
	json_decref(o);
	free(text);
	return 0;
}
