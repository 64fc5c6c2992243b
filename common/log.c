/* SPDX-License-Identifier: MIT */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum wm_log_level current = WM_LOG_ERROR;
static char prefix[40];

void wm_log_init(enum wm_log_level level, const char *ifname)
{
	current = level;
	snprintf(prefix, sizeof(prefix), "(%s) ", ifname ? ifname : "");
}

int wm_log_parse_level(const char *text)
{
	static const char *const names[] = { "silent", "error", "verbose", "debug" };
	int i;

	for (i = 0; i < 4; i++)
		if (!strcmp(text, names[i]))
			return i;
	return -1;
}

enum wm_log_level wm_log_level(void)
{
	return current;
}

void wm_log(enum wm_log_level level, const char *fmt, ...)
{
	static const char *const tags[] = { "", "ERROR", "INFO", "DEBUG" };
	char when[32];
	struct tm tm;
	time_t t;
	va_list ap;

	if (level > current || level == WM_LOG_SILENT)
		return;
	t = time(NULL);
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y/%m/%d %H:%M:%S", &tm);
	fprintf(stderr, "%s: %s%s ", tags[level], prefix, when);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
