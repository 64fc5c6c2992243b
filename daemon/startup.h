/* SPDX-License-Identifier: MIT */
/*
 * Starting a daemon the way wireguard-go does: the command detaches, and the parent exits only
 * once the child says it is ready (or why it is not), so `wiremesh wg0 && wg setconf wg0 …`
 * and `wiremesh up … && ping …` work. The child may send a sentence for the parent to print.
 */
#ifndef WM_STARTUP_H
#define WM_STARTUP_H

#include <stdbool.h>

/*
 * Forks. The parent waits for the child's report, prints its message (stdout when ready,
 * stderr otherwise) and exits 0 or 1; it never returns. The child returns 0 with *ready_fd
 * to report on, in a new session. keep_logs_on_stderr: the caller set LOG_LEVEL (not
 * silent), so once detached the daemon keeps logging to the caller's stderr; otherwise it
 * logs to syslog as ident. -errno when fork fails.
 */
int wm_startup_detach(int *ready_fd, bool keep_logs_on_stderr, const char *ident);

/*
 * Reports to the waiting parent (ready_fd < 0: nobody waits; a message then goes to stdout
 * or stderr directly). A detached child then lets go of the caller's terminal or pipe, as
 * wireguard-go does: stdin and stdout point at /dev/null, and stderr too unless logs were
 * to stay there, so `out=$(wiremesh wg0)` returns. Safe to call more than once.
 */
void wm_startup_report(int *ready_fd, bool ok, const char *message);

/* What to do about a start-up error, or NULL. */
const char *wm_startup_hint(int err);

#endif
