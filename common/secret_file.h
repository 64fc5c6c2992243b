/* SPDX-License-Identifier: MIT */
/*
 * Files only their owner may read (private keys, a node's state, a database of keys), written
 * so that a crash leaves either the old file or the whole new one: a temp file ".NAME.tmp"
 * beside NAME, mode 0600 whatever the umask, fsync, rename (or link) into place, fsync of the
 * directory. One writer per name at a time: the temp name is fixed, so that a temp file left
 * by a crash is removed by the next write.
 */
#ifndef WM_SECRET_FILE_H
#define WM_SECRET_FILE_H

#include <stddef.h>

enum wm_secret_file_how {
	WM_SECRET_FILE_REPLACE,	/* NAME gets the new content whether it existed or not */
	WM_SECRET_FILE_CREATE,	/* only when NAME does not exist (not even as a dangling link) */
};

/*
 * Writes len bytes of data as NAME in the directory dirfd (AT_FDCWD: the working directory).
 * name is a file name, without '/'. 0, -EEXIST (CREATE, and NAME exists: it is left as it
 * was), -EINVAL, -ENAMETOOLONG or another -errno; no temp file stays behind on failure.
 */
int wm_secret_file_write_at(int dirfd, const char *name, const void *data, size_t len,
			    enum wm_secret_file_how how);

/* The same for a path: its directory is opened for the write (and fsynced). */
int wm_secret_file_write(const char *path, const void *data, size_t len,
			 enum wm_secret_file_how how);

#endif
