/* SPDX-License-Identifier: MIT */
#include "common/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static enum wm_log_level current = WM_LOG_ERROR;
static char prefix[40];
static bool to_syslog;

void wm_log_init(enum wm_log_level level, const char *ifname)
{
	current = level;
	snprintf(prefix, sizeof(prefix), "(%s) ", ifname ? ifname : "");
}

void wm_log_use_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	to_syslog = true;
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

static void log_to_syslog(enum wm_log_level level, const char *fmt, va_list ap)
{
	static const int priorities[] = { LOG_ERR, LOG_ERR, LOG_INFO, LOG_DEBUG };
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	syslog(priorities[level], "%s%s", prefix, line);
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
	va_start(ap, fmt);
	if (to_syslog) {
		log_to_syslog(level, fmt, ap);
		va_end(ap);
		return;
	}
	t = time(NULL);
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y/%m/%d %H:%M:%S", &tm);
	fprintf(stderr, "%s: %s%s ", tags[level], prefix, when);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
