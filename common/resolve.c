/* SPDX-License-Identifier: MIT */
#include "common/resolve.h"

#include <errno.h>
#include <ev.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Shared by the loop and the lookup thread; whoever drops the last reference frees it. The
 * eventfd is closed under the lock, so the thread never writes to a descriptor number that
 * was closed and reused.
 */
struct wm_resolve {
	pthread_mutex_t lock;
	int refs;
	bool cancelled;
	int efd;
	struct ev_loop *loop;
	ev_io watcher;
	char host[256], port[8];
	struct addrinfo *res;
	int err;
	wm_resolve_cb cb;
	void *ctx;
};

static void release(struct wm_resolve *r)
{
	int left;

	pthread_mutex_lock(&r->lock);
	left = --r->refs;
	pthread_mutex_unlock(&r->lock);
	if (left)
		return;
	if (r->res)
		freeaddrinfo(r->res);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static void lookup(struct wm_resolve *r)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_protocol = IPPROTO_TCP };
	struct addrinfo *res = NULL;
	int err = getaddrinfo(r->host, r->port, &hints, &res);
	uint64_t one = 1;

	pthread_mutex_lock(&r->lock);
	r->res = err ? NULL : res;
	r->err = err;
	if (!r->cancelled && write(r->efd, &one, sizeof(one)) < 0)
		r->err = EAI_SYSTEM;
	pthread_mutex_unlock(&r->lock);
}

static void *thread_main(void *arg)
{
	struct wm_resolve *r = arg;

	lookup(r);
	release(r);
	return NULL;
}

static void close_efd_locked(struct wm_resolve *r)
{
	if (r->efd >= 0)
		close(r->efd);
	r->efd = -1;
}

static void on_ready(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_resolve *r = w->data;
	struct addrinfo *res;
	int err;

	(void)revents;
	ev_io_stop(loop, w);
	pthread_mutex_lock(&r->lock);
	res = r->res;
	err = r->err;
	r->res = NULL;
	r->cancelled = true;
	close_efd_locked(r);
	pthread_mutex_unlock(&r->lock);
	r->cb(r->ctx, res, res ? 0 : (err ? err : EAI_NONAME));
	release(r);
}

struct wm_resolve *wm_resolve_start(struct ev_loop *loop, const char *host, uint16_t port,
				    wm_resolve_cb cb, void *ctx)
{
	struct wm_resolve *r = calloc(1, sizeof(*r));
	pthread_attr_t attr;
	pthread_t tid;
	int ret;

	if (!r)
		return NULL;
	if (snprintf(r->host, sizeof(r->host), "%s", host) >= (int)sizeof(r->host)) {
		free(r);
		return NULL;
	}
	snprintf(r->port, sizeof(r->port), "%u", port);
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0) {
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->loop = loop;
	r->cb = cb;
	r->ctx = ctx;
	r->refs = 1;
	ev_io_init(&r->watcher, on_ready, r->efd, EV_READ);
	r->watcher.data = r;
	ev_io_start(loop, &r->watcher);

	/* A literal address needs no thread; the eventfd still defers the callback. */
	{
		struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
					  .ai_protocol = IPPROTO_TCP, .ai_flags = AI_NUMERICHOST };
		struct addrinfo *res = NULL;
		uint64_t one = 1;

		if (!getaddrinfo(r->host, r->port, &hints, &res)) {
			r->res = res;
			if (write(r->efd, &one, sizeof(one)) < 0) {
				wm_resolve_cancel(r);
				return NULL;
			}
			return r;
		}
	}

	r->refs = 2;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&tid, &attr, thread_main, r);
	pthread_attr_destroy(&attr);
	if (ret) {
		r->refs = 1;
		wm_resolve_cancel(r);
		return NULL;
	}
	return r;
}

void wm_resolve_cancel(struct wm_resolve *r)
{
	if (!r)
		return;
	ev_io_stop(r->loop, &r->watcher);
	pthread_mutex_lock(&r->lock);
	r->cancelled = true;
	close_efd_locked(r);
	pthread_mutex_unlock(&r->lock);
	release(r);
}
