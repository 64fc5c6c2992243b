/* SPDX-License-Identifier: MIT */
/*
 * Levelled logging to stderr, as wireguard-go does; a detached daemon whose caller set no
 * LOG_LEVEL logs to syslog instead (LOG_DAEMON, so the journal has it).
 */
#ifndef WM_LOG_H
#define WM_LOG_H

enum wm_log_level {
	WM_LOG_SILENT = 0,
	WM_LOG_ERROR = 1,
	WM_LOG_VERBOSE = 2,
	WM_LOG_DEBUG = 3,
};

/* Sets the level and the interface name shown in every line. */
void wm_log_init(enum wm_log_level level, const char *ifname);

/* From now on, lines go to syslog as IDENT (facility LOG_DAEMON), not to stderr. */
void wm_log_use_syslog(const char *ident);

/* Parses "silent", "error", "verbose", "debug"; -1 when unknown. */
int wm_log_parse_level(const char *text);

enum wm_log_level wm_log_level(void);

void wm_log(enum wm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define wm_log_error(...) wm_log(WM_LOG_ERROR, __VA_ARGS__)
#define wm_log_verbose(...) wm_log(WM_LOG_VERBOSE, __VA_ARGS__)
#define wm_log_debug(...) wm_log(WM_LOG_DEBUG, __VA_ARGS__)

#endif
