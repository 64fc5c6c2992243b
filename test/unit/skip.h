/* SPDX-License-Identifier: MIT */
/*
 * Skipping a unit test that cannot run here (most often: it needs root). Check has no "skipped"
 * result, so the test prints one line to stdout, "SKIP <test>: <reason>", and returns; Check
 * counts it as passed, and test/run-tests counts the line as a skip and takes it off the passed
 * count. The line is flushed at once, so it survives Check's fork mode (the test's process exits
 * without returning to main) and interleaves whole with other output.
 */
#ifndef WM_TEST_SKIP_H
#define WM_TEST_SKIP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Prints the SKIP line for test function fn (START_TEST(x) defines x_fn: printed as x). */
static inline void __attribute__((format(printf, 2, 3)))
wm_test_skip_line(const char *fn, const char *fmt, ...)
{
	size_t n = strlen(fn);
	va_list ap;

	if (n > 3 && !strcmp(fn + n - 3, "_fn"))
		n -= 3;
	fflush(stdout);
	printf("SKIP %.*s: ", (int)n, fn);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* In a test's body: report the skip with a reason (printf format) and return from the test. */
#define WM_SKIP_TEST(...)                                      \
	do {                                                   \
		wm_test_skip_line(__func__, __VA_ARGS__);      \
		return;                                        \
	} while (0)

#endif
