/* SPDX-License-Identifier: MIT */
/*
 * Scratch directories for unit tests that touch the file system: one per test program under
 * /tmp (made by an unchecked fixture, removed with all it holds at the end), and a fresh one
 * inside it for each test, which Check runs in its own forked child.
 */
#ifndef WM_TEST_SCRATCH_H
#define WM_TEST_SCRATCH_H

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static char wm_scratch_base[32];	/* "/tmp/wm-NAME-XXXXXX", names are short */

static int wm_scratch_remove_one(const char *path, const struct stat *sb, int flag,
				 struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* /tmp/wm-NAME-XXXXXX for this program's tests. */
static inline void wm_scratch_create(const char *name)
{
	snprintf(wm_scratch_base, sizeof(wm_scratch_base), "/tmp/wm-%s-XXXXXX", name);
	ck_assert_ptr_nonnull(mkdtemp(wm_scratch_base));
}

/* Removes it and everything in it (links not followed). */
static inline void wm_scratch_remove(void)
{
	nftw(wm_scratch_base, wm_scratch_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory inside it, written to out. */
static inline void wm_scratch_dir(char *out, size_t cap)
{
	snprintf(out, cap, "%s/t-XXXXXX", wm_scratch_base);
	ck_assert_ptr_nonnull(mkdtemp(out));
}

#endif
